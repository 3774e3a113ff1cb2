package ratelimit

import (
	"context"
	"time"
)

// spacer lets callers through one at a time, each at least interval after
// the previous one by the clock at the moment it is let through.
//
// Spacing reservations is not enough: x/time/rate hands out slots an
// interval apart, but a waiter that wakes late (a stalled process, a busy
// core) then leaves right beside the next one, and the two requests reach
// Iterable as a burst that its limiter answers with 429. Here a late
// waiter pushes the next one back instead, so the pace can only fall below
// the rate, never rise above it.
type spacer struct {
	// every is the interval, read anew on each wake-up: an adaptive
	// limiter's pace changes while callers wait.
	every func() time.Duration
	turn  chan struct{} // one-slot semaphore: whoever holds it owns last
	last  time.Time
}

// newSpacer returns a spacer whose interval is every().
func newSpacer(every func() time.Duration) *spacer {
	return &spacer{every: every, turn: make(chan struct{}, 1)}
}

// wait returns when the caller may go, after also sleeping out hold (the
// pause a 429 asked for) and obtaining grant (the state's permission,
// which a shared state may make it wait for) while still holding the turn.
// It fails when ctx ends or grant fails.
func (s *spacer) wait(ctx context.Context, hold func() time.Duration, grant func(context.Context) error) error {
	select {
	case s.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.turn }()
	for {
		d := max(time.Until(s.last.Add(s.every())), hold())
		if d <= 0 {
			break
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
	if err := grant(ctx); err != nil {
		return err
	}
	s.last = time.Now()
	return nil
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
