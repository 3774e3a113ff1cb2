package ratelimit

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Local paces the calls of one process, evenly and without bursts.
type Local struct {
	perSecond float64
	space     *spacer // nil: unlimited
	pause     pause
}

var _ Pacer = (*Local)(nil)

// NewLocal returns a limiter that lets through perSecond calls per second,
// at least 1/perSecond apart (after an idle spell one call goes at once, the
// next waits a full interval). perSecond ≤ 0 or +Inf means unlimited.
func NewLocal(perSecond float64) *Local {
	if perSecond <= 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		return &Local{perSecond: math.Inf(1)}
	}
	return &Local{perSecond: perSecond, space: newSpacer(time.Duration(float64(time.Second) / perSecond))}
}

// Wait blocks until the next evenly paced slot or a penalty is over.
func (l *Local) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if l.space == nil {
		if err := sleep(ctx, l.pause.remaining()); err != nil {
			return time.Since(start), fmt.Errorf("ratelimit: wait: %w", err)
		}
		return time.Since(start), nil
	}
	if err := l.space.wait(ctx, l.pause.remaining, nil); err != nil {
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
	return fmt.Sprintf("local %g/s", l.perSecond)
}
