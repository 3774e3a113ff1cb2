package ratelimit

import (
	"context"
	"time"
)

// Departures spaces the moments requests leave, where Wait spaces the turns
// at which they are cut. Between the two a request still has work to do
// (its intents written to Redis, its body encoded), which takes longer for
// some requests than for others: two turns an interval apart can then
// reach Iterable much closer together, and its leaky bucket answers the
// second with a 429, which the adaptive pace reads as another client. A
// request waits on Departures once it is ready, as its last step before
// the wire, so that it leaves at least one interval, at the pace in force,
// after the one before it, and after any pause a 429 asked for.
//
// A request that was late pushes the ones after it back by as much, rather
// than letting them leave right behind it; turns keep their pace, so the
// sync's throughput is unchanged, and the delay wears off once the turns
// leave room. Under scope global the last departure is kept in the shared
// state, so the spacing holds across instances; while Redis cannot be
// reached, a process spaces its own requests only (its turns are still
// paced, and the departure gate never fails a request that was granted).
type Departures struct {
	a     *Adaptive
	space *spacer
	// reserve books the next departure in the shared state and says how
	// long until it; nil for a state in process memory.
	reserve func(ctx context.Context) (time.Duration, error)
}

// Departures returns the gate that spaces the departures of the requests
// whose turns a hands out.
func (a *Adaptive) Departures() *Departures {
	d := &Departures{a: a}
	if a.be == nil {
		return d
	}
	d.space = newSpacer(a.space.every)
	if g, ok := a.be.(*globalBackend); ok {
		d.reserve = g.book
	}
	return d
}

// Wait returns when the request may leave, and how long that took. It fails
// only when ctx ends first.
func (d *Departures) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if d.a.be == nil {
		return 0, nil
	}
	if d.reserve != nil {
		if w, err := d.reserve(ctx); err == nil {
			err = sleep(ctx, w)
			return time.Since(start), err
		}
		if ctx.Err() != nil {
			return time.Since(start), ctx.Err()
		}
	}
	err := d.space.wait(ctx, d.a.be.hold, func(context.Context) error { return nil })
	return time.Since(start), err
}
