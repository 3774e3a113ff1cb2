package pipeline

import (
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// Update mode remembers users Iterable said do not exist for absentTTL, at
// most absentMax of them, so a burst of changes for a user who is not in
// Iterable costs one lookup, while a user created later is found again.
const (
	absentTTL = 10 * time.Minute
	absentMax = 100_000
)

// absentCache is the bounded negative cache of update-mode lookups.
type absentCache struct {
	ttl time.Duration
	max int

	mu    sync.Mutex
	until map[change.Identifier]time.Time
}

func newAbsentCache(ttl time.Duration, max int) *absentCache {
	return &absentCache{ttl: ttl, max: max, until: map[change.Identifier]time.Time{}}
}

func (c *absentCache) has(id change.Identifier) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.until[id]
	if ok && time.Now().After(t) {
		delete(c.until, id)
		return false
	}
	return ok
}

// forget drops a user from the cache: it exists now (its profile moved to
// it).
func (c *absentCache) forget(id change.Identifier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.until, id)
}

func (c *absentCache) add(id change.Identifier) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if len(c.until) >= c.max {
		for k, t := range c.until {
			if now.After(t) {
				delete(c.until, k)
			}
		}
		if len(c.until) >= c.max {
			clear(c.until) // forgetting only costs lookups
		}
	}
	c.until[id] = now.Add(c.ttl)
}
