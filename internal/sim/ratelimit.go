package sim

import (
	"math"
	"sync"
	"time"
)

// DefaultRateTolerance is how early, relative to an even pace, a request may
// arrive and still be admitted. It absorbs differences in delivery delay
// (scheduling, GC, connection reuse) for a client that paces exactly at the
// limit, while staying below one bulkUpdate interval (200 ms at 5 req/s), so
// two back-to-back bulkUpdate requests are still refused.
const DefaultRateTolerance = 150 * time.Millisecond

// gcra is a Generic Cell Rate Algorithm limiter: a leaky bucket expressed as
// the theoretical arrival time (TAT) of the next request. Iterable's limiter
// is described as a leaky bucket; GCRA is the same thing without a ticker and
// is exactly what a client pacing evenly at the limit can satisfy.
type gcra struct {
	interval  time.Duration // emission interval: 1/rate
	tolerance time.Duration // how early a request may be

	mu  sync.Mutex
	tat time.Time
}

// newGCRA returns a limiter for perSecond requests per second, or nil (no
// limit) when perSecond is not positive.
func newGCRA(perSecond float64, tolerance time.Duration) *gcra {
	if perSecond <= 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond) {
		return nil
	}
	return &gcra{
		interval:  time.Duration(float64(time.Second) / perSecond),
		tolerance: tolerance,
	}
}

// allow admits a request arriving at now, or refuses it and says how long
// until it would have been admitted. A refused request does not consume
// capacity, as with Iterable: hammering while limited does not extend the
// wait.
func (g *gcra) allow(now time.Time) (ok bool, retryIn time.Duration) {
	if g == nil {
		return true, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	if early := tat.Sub(now); early > g.tolerance {
		return false, early - g.tolerance
	}
	g.tat = tat.Add(g.interval)
	return true, 0
}

func (g *gcra) reset() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.tat = time.Time{}
	g.mu.Unlock()
}
