package ratelimit

import (
	"context"
	"time"
)

// Limiter paces calls to one endpoint.
type Limiter interface {
	// Wait blocks until the caller may send one request, or ctx is done. It
	// returns how long it waited (for the rate-limiter wait metric), also
	// when it fails.
	Wait(ctx context.Context) (time.Duration, error)
}

// Pacer is a Limiter whose pace can be slowed after Iterable answered 429.
type Pacer interface {
	Limiter
	// Penalize makes every waiter sharing this budget hold back for d from
	// now (a longer penalty already in force is kept). It is best effort for
	// the shared part: an error means other processes may not see the pause,
	// while this process always honours it.
	Penalize(ctx context.Context, d time.Duration) error
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
