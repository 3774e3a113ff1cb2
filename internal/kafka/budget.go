package kafka

import (
	"context"
	"sync"

	"github.com/attrsync/attrsync/internal/change"
)

// messageOverhead is what a held message costs beyond its key, value and
// headers: the decoded row and change, its place in the coalescing maps and
// queues, its share of a request being built, and the bookkeeping here.
// It was measured from the live heap of `attrsync run` (GODEBUG=gctrace=1)
// on the bench's 10-attribute snapshot backlog at budgets of 8, 32 and
// 64 MiB: each budgeted byte held 1.4 bytes of live heap when this was
// 640, about 2 KB per message beyond its 2.8 KB value. Undercounted, the
// budget let 64 MiB hold 106 MB live and the process peak above 256 MiB
// RSS (see README, "Memory").
const messageOverhead = 2048

// costOf is how much of the held-message budget m takes until it finishes.
func costOf(m change.Message) int64 {
	n := int64(len(m.Key) + len(m.Value) + messageOverhead)
	for _, h := range m.Headers {
		n += int64(len(h.Key) + len(h.Value))
	}
	return n
}

// budget bounds what a process holds of fetched but unfinished messages,
// wherever they are: coalescing, diffing, queued for a request, in flight,
// retrying, or waiting for the dead-letter topic. Fetchers take a message's
// cost before handing it out and the tracker gives it back when it
// finishes, so memory is bounded by configuration, not by the backlog.
type budget struct {
	max int64 // ≤ 0: unbounded

	mu   sync.Mutex
	used int64
	// freed is closed and replaced when something is released while a
	// fetcher waits (waiting): releases far outnumber waits, one per
	// message, and need not make a channel each when nobody listens.
	freed   chan struct{}
	waiting bool
}

func newBudget(max int64) *budget {
	return &budget{max: max, freed: make(chan struct{})}
}

// acquire takes n, waiting while that would exceed the budget. A message
// larger than the whole budget still goes through alone, or it could never
// be consumed. It returns false when ctx ends first.
func (b *budget) acquire(ctx context.Context, n int64) bool {
	for {
		b.mu.Lock()
		if b.max <= 0 || b.used == 0 || b.used+n <= b.max {
			b.used += n
			b.mu.Unlock()
			return true
		}
		freed := b.freed
		b.waiting = true
		b.mu.Unlock()
		select {
		case <-freed:
		case <-ctx.Done():
			return false
		}
	}
}

// release gives n back.
func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.waiting {
		close(b.freed)
		b.freed, b.waiting = make(chan struct{}), false
	}
	b.mu.Unlock()
}

// inUse is how much is held now.
func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}
