package sim

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Faults are failures injected into API requests (never into /_sim/ admin
// requests). The zero value injects nothing. Set them with Server.SetFaults at
// any time; they apply to requests that start afterwards.
//
// Order within a request: Latency and Spike delay it first; then RevokeKey (or
// a wrong key) answers 401; then the rate limiter may answer 429; only then
// are Burst and ErrorRate applied, so an injected failure always reaches the
// client instead of being masked.
type Faults struct {
	// ErrorRate is the fraction (0..1) of requests answered ErrorStatus.
	ErrorRate float64 `json:"errorRate,omitempty"`
	// ErrorStatus is the status for ErrorRate; 0 means 503.
	ErrorStatus int `json:"errorStatus,omitempty"`
	// Burst answers the next Burst requests with BurstStatus, then stops.
	Burst int `json:"burst,omitempty"`
	// BurstStatus is the status for Burst (a 5xx or 429); 0 means 503.
	BurstStatus int `json:"burstStatus,omitempty"`
	// Latency is added to every request.
	Latency time.Duration `json:"latency,omitempty"`
	// SpikeRate is the fraction (0..1) of requests that are delayed by a
	// further random duration in [0, Spike).
	SpikeRate float64 `json:"spikeRate,omitempty"`
	// Spike is the upper bound of a latency spike.
	Spike time.Duration `json:"spike,omitempty"`
	// RevokeKey answers every request 401 BadApiKey, as if the key had been
	// revoked.
	RevokeKey bool `json:"revokeKey,omitempty"`
	// RefuseValue makes bulkUpdate refuse, as a whole, every request in
	// which some user's dataFields hold this string (at any depth): 400 with
	// RefuseCode and a msg quoting the value, as Iterable's messages quote
	// offending input. Nothing of such a request is applied. Empty: off.
	RefuseValue string `json:"refuseValue,omitempty"`
	// RefuseCode is the code of a RefuseValue answer: "BadParams" (the
	// default) or "BadJsonBody".
	RefuseCode string `json:"refuseCode,omitempty"`
	// Endpoints limits the faults to these endpoints (Endpoint* constants);
	// empty means every API endpoint.
	Endpoints []string `json:"endpoints,omitempty"`
}

// faultState is the live fault configuration with the remaining burst.
type faultState struct {
	mu  sync.Mutex
	f   Faults
	rng *rand.Rand
}

func (fs *faultState) set(f Faults) {
	f.Endpoints = slices.Clone(f.Endpoints)
	fs.mu.Lock()
	fs.f = f
	fs.mu.Unlock()
}

func (fs *faultState) get() Faults {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	f := fs.f
	f.Endpoints = slices.Clone(f.Endpoints)
	return f
}

func (fs *faultState) applies(endpoint string) bool {
	return len(fs.f.Endpoints) == 0 || slices.Contains(fs.f.Endpoints, endpoint)
}

// delay returns the latency to add to a request to endpoint.
func (fs *faultState) delay(endpoint string) time.Duration {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.applies(endpoint) {
		return 0
	}
	d := fs.f.Latency
	if fs.f.Spike > 0 && fs.f.SpikeRate > 0 && fs.rng.Float64() < fs.f.SpikeRate {
		d += time.Duration(fs.rng.Int64N(int64(fs.f.Spike)))
	}
	return d
}

// revoked reports whether requests to endpoint must be answered 401.
func (fs *faultState) revoked(endpoint string) bool {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.f.RevokeKey && fs.applies(endpoint)
}

// inject decides whether this request fails, consuming one unit of burst; it
// returns the status to answer, 0 for none, and which fault it was.
func (fs *faultState) inject(endpoint string) (status int, kind string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if !fs.applies(endpoint) {
		return 0, ""
	}
	if fs.f.Burst > 0 {
		fs.f.Burst--
		return cmp0(fs.f.BurstStatus, 503), "burst"
	}
	if fs.f.ErrorRate > 0 && fs.rng.Float64() < fs.f.ErrorRate {
		return cmp0(fs.f.ErrorStatus, 503), "error-rate"
	}
	return 0, ""
}

func cmp0(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// sleepCtx waits d or until ctx ends; it reports whether the full wait
// elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
