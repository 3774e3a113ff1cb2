package ratelimit

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Adaptive paces calls to one endpoint evenly, at a pace that adapts to
// Iterable's 429s with AIMD (see AIMD). Its state is per process
// (NewAdaptiveLocal) or shared by every process using the same Redis key
// (NewAdaptiveGlobal). It is safe for concurrent use.
//
// Callers wait with Wait, and report every answer to a request it granted:
// Throttled for a 429 (with what the 429 asked for), Succeeded for any
// other answer that got through Iterable's rate limit. Rate is the current
// pace, for a metric.
type Adaptive struct {
	p     AIMD
	be    backend // nil: unlimited
	space *spacer
	rate  atomic.Uint64 // math.Float64bits of the pace last seen
	desc  string
}

// backend keeps the adaptive state: in process memory or in Redis.
type backend interface {
	// grant blocks until the state grants one call and says the pace it
	// read; in-process state needs nothing beyond the spacer.
	grant(ctx context.Context) (float64, error)
	// hold is how long this process must still pause.
	hold() time.Duration
	throttled(ctx context.Context, wait time.Duration, capRate float64) (float64, error)
	succeeded(ctx context.Context) (float64, error)
}

// newAdaptive wires a backend; be may be nil for an unlimited pace.
func newAdaptive(p AIMD, be backend, desc string) *Adaptive {
	a := &Adaptive{p: p, be: be, desc: desc}
	if be == nil {
		a.rate.Store(math.Float64bits(math.Inf(1)))
		return a
	}
	a.rate.Store(math.Float64bits(p.Max))
	a.space = newSpacer(func() time.Duration {
		return time.Duration(float64(time.Second) / a.Rate())
	})
	return a
}

// Wait blocks until the caller may send one request at the current pace, a
// pause a 429 asked for is over, or ctx is done. It returns how long it
// waited, also when it fails.
func (a *Adaptive) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if a.be == nil {
		return 0, nil
	}
	grant := func(ctx context.Context) error {
		r, err := a.be.grant(ctx)
		a.observe(r)
		return err
	}
	if err := a.space.wait(ctx, a.be.hold, grant); err != nil {
		return time.Since(start), fmt.Errorf("ratelimit: wait: %w", err)
	}
	return time.Since(start), nil
}

// Throttled reports a 429: the pace drops (at most once per cooldown), and
// every caller sharing the state pauses for wait. limit is the 429's
// rateLimitLimit, requests per the budget's window (0: not sent); where
// Iterable sends one, the pace stays below this sync's share of it.
func (a *Adaptive) Throttled(ctx context.Context, wait time.Duration, limit int) error {
	if a.be == nil {
		return nil
	}
	r, err := a.be.throttled(ctx, wait, a.p.capRate(limit))
	a.observe(r)
	return err
}

// Succeeded reports an answer that got through Iterable's rate limit (any
// status but 429 and 5xx): the pace climbs back.
func (a *Adaptive) Succeeded(ctx context.Context) error {
	if a.be == nil {
		return nil
	}
	r, err := a.be.succeeded(ctx)
	a.observe(r)
	return err
}

// Rate is the current pace in requests per second (+Inf when unlimited): for
// a global limiter, the shared pace as this process last saw it.
func (a *Adaptive) Rate() float64 { return math.Float64frombits(a.rate.Load()) }

// observe records a pace read from the state; 0 means none was read.
func (a *Adaptive) observe(r float64) {
	if r > 0 {
		a.rate.Store(math.Float64bits(r))
	}
}

// String describes the limiter, for logs.
func (a *Adaptive) String() string {
	if a.be == nil {
		return a.desc + " unlimited"
	}
	return fmt.Sprintf("%s adaptive %.3g/s of %.3g/s", a.desc, a.Rate(), a.p.Max)
}

// NewAdaptiveLocal returns an adaptive limiter whose state lives in this
// process. p.Max ≤ 0 means unlimited.
func NewAdaptiveLocal(p AIMD) *Adaptive {
	if p.unlimited() {
		return newAdaptive(p, nil, "local")
	}
	p = p.withDefaults()
	return newAdaptive(p, &localBackend{p: p}, "local")
}

// localBackend keeps the state in memory.
type localBackend struct {
	p  AIMD
	mu sync.Mutex
	st aimdState
}

func (l *localBackend) grant(context.Context) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.current(&l.st), nil
}

func (l *localBackend) hold() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return max(time.Duration((l.st.pause-unixMS(time.Now()))*float64(time.Millisecond)), 0)
}

func (l *localBackend) throttled(_ context.Context, wait time.Duration, capRate float64) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p.throttled(&l.st, unixMS(time.Now()), ms(wait), capRate)
	return l.p.current(&l.st), nil
}

func (l *localBackend) succeeded(context.Context) (float64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.p.succeeded(&l.st, unixMS(time.Now()))
	return l.p.current(&l.st), nil
}
