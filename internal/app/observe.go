package app

import (
	"context"
	"time"

	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/ratelimit"
)

// observedLimiter reports every wait of a limiter to the observer, keeping
// its ability to be slowed down after a 429.
type observedLimiter struct {
	ratelimit.Pacer
	endpoint string
	obs      pipeline.Observer
}

// Wait waits on the limiter and reports how long it took.
func (l observedLimiter) Wait(ctx context.Context) (time.Duration, error) {
	d, err := l.Pacer.Wait(ctx)
	l.obs.LimiterWaited(ctx, l.endpoint, d)
	return d, err
}
