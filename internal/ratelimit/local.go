package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"
)

// Local paces the calls of one process, evenly and without bursts.
type Local struct {
	lim   *rate.Limiter
	pause pause
}

var _ Pacer = (*Local)(nil)

// NewLocal returns a limiter that lets through perSecond calls per second,
// one every 1/perSecond (burst 1: after an idle spell one call goes at once,
// the next waits a full interval). perSecond ≤ 0 or +Inf means unlimited.
func NewLocal(perSecond float64) *Local {
	limit := rate.Limit(perSecond)
	if perSecond <= 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		limit = rate.Inf
	}
	return &Local{lim: rate.NewLimiter(limit, 1)}
}

// Wait blocks until the next evenly paced slot or a penalty is over.
func (l *Local) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if err := sleep(ctx, l.pause.remaining()); err != nil {
		return time.Since(start), fmt.Errorf("ratelimit: wait: %w", err)
	}
	if err := l.lim.Wait(ctx); err != nil {
		return time.Since(start), fmt.Errorf("ratelimit: wait: %w", err)
	}
	return time.Since(start), nil
}

// Penalize holds every waiter of this process back for d. It never fails.
func (l *Local) Penalize(_ context.Context, d time.Duration) error {
	l.pause.extend(d)
	return nil
}

// String describes the pace, for logs.
func (l *Local) String() string {
	return fmt.Sprintf("local %g/s", float64(l.lim.Limit()))
}
