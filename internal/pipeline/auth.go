package pipeline

import (
	"context"
	"sync"
)

// authState tracks whether Iterable accepts the API key. While it does not,
// fetchers hold before the next message: consumption stops instead of
// filling memory with work that cannot be delivered, and nothing is
// dead-lettered for it.
type authState struct {
	mu  sync.Mutex
	bad bool
	ok  chan struct{} // closed when the key is accepted again
}

// fail records a refusal; it reports whether the key was accepted until now.
func (a *authState) fail() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bad {
		return false
	}
	a.bad, a.ok = true, make(chan struct{})
	return true
}

// succeed records an accepted request; it reports whether the key had been
// refused until now.
func (a *authState) succeed() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.bad {
		return false
	}
	a.bad = false
	close(a.ok)
	return true
}

func (a *authState) refused() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bad
}

// wait returns once the key is accepted, or ctx's error.
func (a *authState) wait(ctx context.Context) error {
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
