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

// engine coalesces changes per user and hands users to the diff workers in
// candidates of at most maxUsers, once maxUsers are ready or the oldest has
// waited maxWait. A user is in at most one candidate at a time: changes that
// arrive while it is out wait until its outcome is known, so they are
// diffed against the state that outcome left, and Iterable never sees an
// older value after a newer one.
//
// The engine holds no bound of its own: everything it holds is a message
// the Kafka runtime counted against the held-message budget, which stops
// fetching when full.
//
// It is one goroutine owning all of its maps; others talk to it through
// channels.
type engine struct {
	in      <-chan entry
	out     chan<- []userWork
	settled <-chan []change.Identifier
	back    <-chan []userWork

	maxUsers     int
	maxWait      time.Duration
	requeueDelay time.Duration

	pending  map[change.Identifier][]entry
	inflight map[change.Identifier]bool
	ready    []readyUser // pending users not out, oldest first
	delayed  []readyUser // users given back, by when they may go again
}

type readyUser struct {
	id    change.Identifier
	since time.Time
}

func newEngine(s *Session, cfg Config) *engine {
	return &engine{
		in: s.in, out: s.toDiff, settled: s.settled, back: s.back,
		maxUsers: cfg.MaxUsers, maxWait: cfg.MaxWait, requeueDelay: cfg.requeueDelay(),
		pending:  map[change.Identifier][]entry{},
		inflight: map[change.Identifier]bool{},
	}
}

// run coalesces until ctx ends, then stops dispatching and waits until every
// user out is settled or given back, or work ends. It closes out when it
// returns.
func (e *engine) run(ctx, work context.Context) {
	defer close(e.out)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var next []userWork
	for {
		now := time.Now()
		e.promote(now)
		if next == nil {
			next = e.take(now)
		}
		var outC chan<- []userWork
		if next != nil {
			outC = e.out
		}
		if due, ok := e.nextDue(next != nil); ok {
			timer.Reset(due.Sub(now))
		}
		select {
		case en := <-e.in:
			e.add(en, now)
		case outC <- next:
			next = nil
		case ids := <-e.settled:
			e.settle(ids, now)
		case ws := <-e.back:
			e.giveBack(ws, now)
		case <-timer.C:
		case <-ctx.Done():
			// Users of a prepared but undispatched candidate were never
			// sent; their messages stay unfinished and are consumed again.
			for _, w := range next {
				delete(e.inflight, w.id)
			}
			e.wait(work)
			return
		}
	}
}

// nextDue is when the engine must look again without input: when the
// oldest ready user has waited maxWait, or the first given-back user may go.
func (e *engine) nextDue(holding bool) (time.Time, bool) {
	var due time.Time
	if !holding && len(e.ready) > 0 {
		due = e.ready[0].since.Add(e.maxWait)
	}
	if len(e.delayed) > 0 && (due.IsZero() || e.delayed[0].since.Before(due)) {
		due = e.delayed[0].since
	}
	return due, !due.IsZero()
}

// wait takes outcomes until no user is out or work ends.
func (e *engine) wait(work context.Context) {
	for len(e.inflight) > 0 {
		select {
		case ids := <-e.settled:
			for _, id := range ids {
				delete(e.inflight, id)
			}
		case ws := <-e.back:
			for _, w := range ws {
				delete(e.inflight, w.id)
			}
		case <-work.Done():
			return
		}
	}
}

func (e *engine) add(en entry, now time.Time) {
	id := en.ch.User
	q, known := e.pending[id]
	e.pending[id] = append(q, en)
	if !known && !e.inflight[id] {
		e.ready = append(e.ready, readyUser{id: id, since: now})
	}
}

// settle is told that users' outcomes are known: those with changes that
// arrived meanwhile are ready at once, since they already waited.
func (e *engine) settle(ids []change.Identifier, now time.Time) {
	for _, id := range ids {
		delete(e.inflight, id)
		if _, ok := e.pending[id]; ok {
			e.ready = append(e.ready, readyUser{id: id, since: now.Add(-e.maxWait)})
		}
	}
}

// giveBack takes users back unsent, their changes before any that arrived
// meanwhile, to go again after requeueDelay.
func (e *engine) giveBack(ws []userWork, now time.Time) {
	for _, w := range ws {
		delete(e.inflight, w.id)
		e.pending[w.id] = append(w.entries, e.pending[w.id]...)
		e.delayed = append(e.delayed, readyUser{id: w.id, since: now.Add(e.requeueDelay)})
	}
}

// promote moves given-back users whose pause is over to the ready list.
func (e *engine) promote(now time.Time) {
	n := 0
	for n < len(e.delayed) && !e.delayed[n].since.After(now) {
		e.ready = append(e.ready, readyUser{id: e.delayed[n].id, since: now.Add(-e.maxWait)})
		n++
	}
	e.delayed = e.delayed[n:]
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
		e.inflight[r.id] = true
		out[i] = userWork{id: r.id, entries: q}
	}
	e.ready = append(e.ready[:0:0], e.ready[n:]...)
	return out
}
