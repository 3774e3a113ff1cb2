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
	perSecond float64       // the endpoint's limit
	window    time.Duration // the period Iterable states the limit over, for 429 params
	tolerance time.Duration // how early a request may be

	mu    sync.Mutex
	tat   time.Time
	taken float64 // requests per second another client uses (TakeQuota)
}

// newGCRA returns a limiter for perSecond requests per second, or nil (no
// limit) when perSecond is not positive.
func newGCRA(perSecond float64, tolerance time.Duration) *gcra {
	return newGCRAPer(perSecond, time.Second, tolerance)
}

// newGCRAPer is newGCRA for a limit Iterable states over window (a minute
// for the export), which only shows in the 429 params.
func newGCRAPer(perSecond float64, window, tolerance time.Duration) *gcra {
	if perSecond <= 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond) {
		return nil
	}
	return &gcra{perSecond: perSecond, window: window, tolerance: tolerance}
}

// interval is the emission interval left to the simulator's clients once
// another client took its share; ok is false when nothing is left. g.mu is
// held.
func (g *gcra) interval() (time.Duration, bool) {
	left := g.perSecond - g.taken
	if left <= 0 {
		return 0, false
	}
	return time.Duration(float64(time.Second) / left), true
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
	interval, ok := g.interval()
	if !ok {
		return false, time.Second
	}
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	if early := tat.Sub(now); early > g.tolerance {
		return false, early - g.tolerance
	}
	g.tat = tat.Add(interval)
	return true, 0
}

// take sets how many requests per second another client of the project
// uses. Its requests are modelled as always getting through first: what it
// takes is subtracted from the rate the simulator's own clients get, so a
// client pacing below what is left never sees a 429 (see TakeQuota).
func (g *gcra) take(perSecond float64) {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.taken = perSecond
	g.mu.Unlock()
}

// limitPerWindow is the endpoint's limit as Iterable states it: requests
// per window.
func (g *gcra) limitPerWindow() int {
	return int(math.Round(g.perSecond * g.window.Seconds()))
}

func (g *gcra) reset() {
	if g == nil {
		return
	}
	g.mu.Lock()
	g.tat = time.Time{}
	g.taken = 0
	g.mu.Unlock()
}
