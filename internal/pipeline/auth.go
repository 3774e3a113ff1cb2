package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/iterable"
)

// authGate tracks whether Iterable accepts the API key. While it does not,
// consumption stops at the next message (instead of filling memory with
// work that cannot be delivered), requests wait, nothing is dead-lettered,
// and a probe tries the key on its own every interval, so the pause lifts
// by itself once the key works again: also after a restart or a rebalance,
// when no request is left to retry.
type authGate struct {
	api      API
	interval time.Duration
	log      *slog.Logger

	mu      sync.Mutex
	bad     bool
	ok      chan struct{} // closed when the key is accepted again
	stopped chan struct{} // closed by close: no more probes
}

func newAuthGate(api API, interval time.Duration, log *slog.Logger) *authGate {
	return &authGate{api: api, interval: interval, log: log, stopped: make(chan struct{})}
}

// fail records a refusal; the first one since the key was last accepted
// logs the error and starts the probe.
func (a *authGate) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bad {
		return
	}
	a.bad, a.ok = true, make(chan struct{})
	a.log.Error("Iterable refuses the API key (or the TLS connection to it): consumption is paused and nothing is dead-lettered until it is accepted again; check iterable.api_key", "err", err)
	go a.probe(a.ok)
}

// succeed records an accepted call.
func (a *authGate) succeed() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.bad {
		return
	}
	a.bad = false
	close(a.ok)
	a.log.Info("Iterable accepts the API key again; resuming")
}

func (a *authGate) refused() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bad
}

// wait returns once the key is accepted, or ctx's error.
func (a *authGate) wait(ctx context.Context) error {
	a.mu.Lock()
	bad, ok := a.bad, a.ok
	a.mu.Unlock()
	if !bad {
		return nil
	}
	select {
	case <-ok:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// probe checks the key every interval until it is accepted (by the probe or
// by any other call) or the gate is closed.
func (a *authGate) probe(accepted <-chan struct{}) {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-accepted:
			return
		case <-a.stopped:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), iterable.DefaultTimeout)
		err := a.api.CheckKey(ctx)
		cancel()
		if err == nil {
			a.succeed()
			return
		}
		if !iterable.IsAuth(err) && !iterable.IsTLS(err) {
			a.log.Debug("probe of the API key failed; trying again", "err", err)
		}
	}
}

// close stops the probe, if one runs.
func (a *authGate) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-a.stopped:
	default:
		close(a.stopped)
	}
}
