package pipeline

import (
	"context"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// entry is one consumed message that mapped to a user change.
type entry struct {
	msg change.Message // the original, kept for the dead-letter topic
	ch  change.UserChange
}

// userWork is one user taken for delivery with the changes it carries, in
// partition order.
type userWork struct {
	id      change.Identifier
	entries []entry
}

// engine coalesces changes per user and hands users to delivery in
// candidates of at most maxUsers, once maxUsers are ready or the oldest has
// waited maxWait. A user is in at most one candidate at a time: changes that
// arrive while it is in flight wait until its outcome is known, so they are
// diffed against the state that outcome left, and Iterable never sees an
// older value after a newer one.
//
// The engine is one goroutine owning all of its maps; others talk to it
// through channels.
type engine struct {
	in       <-chan entry
	work     chan<- []userWork
	released <-chan []change.Identifier

	maxUsers   int
	maxWait    time.Duration
	maxPending int // entries held before consumption is paused

	pending  map[change.Identifier][]entry
	inflight map[change.Identifier]bool
	ready    []readyUser // pending users not in flight, oldest first
	held     int         // entries in pending
}

type readyUser struct {
	id    change.Identifier
	since time.Time
}

func newEngine(in <-chan entry, work chan<- []userWork, released <-chan []change.Identifier, maxUsers int, maxWait time.Duration) *engine {
	return &engine{
		in: in, work: work, released: released,
		maxUsers: maxUsers, maxWait: maxWait,
		// Enough to fill several requests while earlier ones are in flight,
		// small enough that a stalled Iterable pauses consumption quickly.
		maxPending: max(20*maxUsers, 10000),
		pending:    map[change.Identifier][]entry{},
		inflight:   map[change.Identifier]bool{},
	}
}

// run coalesces until ctx ends, then stops taking input and dispatching,
// and waits until every in-flight user is released or drain ends. It closes
// work when it returns.
func (e *engine) run(ctx, drain context.Context) {
	defer close(e.work)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var next []userWork
	for {
		now := time.Now()
		if next == nil {
			next = e.take(now)
		}
		var workC chan<- []userWork
		if next != nil {
			workC = e.work
		}
		in := e.in
		if e.held >= e.maxPending {
			in = nil // backpressure: fetchers block, kafka-go stops fetching
		}
		if next == nil && len(e.ready) > 0 {
			timer.Reset(e.ready[0].since.Add(e.maxWait).Sub(now))
		}
		select {
		case en, ok := <-in:
			if !ok {
				e.in = nil
				continue
			}
			e.add(en, now)
		case workC <- next:
			next = nil
		case ids := <-e.released:
			e.release(ids, now)
		case <-timer.C:
		case <-ctx.Done():
			// Users of a prepared but undispatched candidate were never
			// sent; their messages stay uncommitted and are consumed again.
			for _, w := range next {
				delete(e.inflight, w.id)
			}
			e.wait(drain)
			return
		}
	}
}

// wait releases users until none is in flight or drain ends.
func (e *engine) wait(drain context.Context) {
	for len(e.inflight) > 0 {
		select {
		case ids := <-e.released:
			for _, id := range ids {
				delete(e.inflight, id)
			}
		case <-drain.Done():
			return
		}
	}
}

func (e *engine) add(en entry, now time.Time) {
	id := en.ch.User
	q, known := e.pending[id]
	e.pending[id] = append(q, en)
	e.held++
	if !known && !e.inflight[id] {
		e.ready = append(e.ready, readyUser{id: id, since: now})
	}
}

func (e *engine) release(ids []change.Identifier, now time.Time) {
	for _, id := range ids {
		delete(e.inflight, id)
		if _, ok := e.pending[id]; ok {
			e.ready = append(e.ready, readyUser{id: id, since: now.Add(-e.maxWait)})
		}
	}
}

// take returns the next candidate when one is due: a full one, or whatever
// is ready once the oldest ready user has waited maxWait.
func (e *engine) take(now time.Time) []userWork {
	if len(e.ready) == 0 || (len(e.ready) < e.maxUsers && now.Sub(e.ready[0].since) < e.maxWait) {
		return nil
	}
	n := min(len(e.ready), e.maxUsers)
	out := make([]userWork, n)
	for i, r := range e.ready[:n] {
		q := e.pending[r.id]
		delete(e.pending, r.id)
		e.held -= len(q)
		e.inflight[r.id] = true
		out[i] = userWork{id: r.id, entries: q}
	}
	e.ready = append(e.ready[:0:0], e.ready[n:]...)
	return out
}
