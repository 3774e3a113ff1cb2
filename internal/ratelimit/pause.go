package ratelimit

import (
	"sync"
	"time"
)

// pause is an in-process "hold back until" instant, extended by 429s.
type pause struct {
	mu    sync.Mutex
	until time.Time
}

// extend moves the pause to now+d unless it already lasts longer.
func (p *pause) extend(d time.Duration) {
	if d <= 0 {
		return
	}
	until := time.Now().Add(d)
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.until) {
		p.until = until
	}
}

// remaining is how long the pause still lasts (0 when over).
func (p *pause) remaining() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(time.Until(p.until), 0)
}
