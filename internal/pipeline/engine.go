package pipeline

import (
	"context"
	"slices"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// entry is one consumed message that mapped to a user change.
type entry struct {
	msg change.Message // the original, kept for the dead-letter topic
	ch  change.UserChange
	// row is the source row the message changes and seq its place among
	// the row's messages (0: rows are not tracked).
	row state.RowKey
	seq uint64
}

// userWork is one user taken for delivery with the changes it carries, in
// partition order.
type userWork struct {
	id      change.Identifier
	entries []entry
	// delay, when given back, is how long the user waits before it may go
	// again (0: the engine's requeue delay).
	delay time.Duration
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

	// users holds every user with changes pending or out, one entry each:
	// a message's way through the engine looks its user up a few times,
	// and on a backlog of distinct users those lookups were the engine's
	// largest cost.
	users   map[change.Identifier]*user
	nOut    int         // users out in a candidate
	ready   []readyUser // pending users not out, oldest first
	delayed []readyUser // users given back, by when they may go again

	// rows, when rows are tracked, orders an email change after the older
	// messages of its row (see rowTracker); waiting holds the users whose
	// next message is an email change that waits for its row's older
	// messages.
	rows    *rowTracker
	waiting map[state.RowKey][]readyUser
	moved   []state.RowKey // rowsDone's buffer, reused
	// spare holds users dropped from users, for user to reuse.
	spare spares[user]
}

// user is what the engine holds for one user. It is dropped once nothing is
// pending and nothing is out.
type user struct {
	pending []entry  // changes not yet taken, in partition order
	out     bool     // some changes are out in a candidate
	taken   []rowSeq // the tracked messages of the changes out
	// oneTaken holds taken when it is one message, as it mostly is.
	oneTaken [1]rowSeq
}

// readyUser is a user waiting to be taken, with its entry: a user waiting
// has changes pending, so it is not dropped meanwhile, and take need not
// look it up.
type readyUser struct {
	id    change.Identifier
	u     *user
	since time.Time
}

func newEngine(s *Session, cfg Config) *engine {
	return &engine{
		in: s.in, out: s.toDiff, settled: s.settled, back: s.back,
		maxUsers: cfg.MaxUsers, maxWait: cfg.MaxWait, requeueDelay: cfg.requeueDelay(),
		users:   map[change.Identifier]*user{},
		rows:    s.rows,
		waiting: map[state.RowKey][]readyUser{},
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
			e.addWaiting(now)
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
				e.returned(e.users[w.id])
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
	for e.nOut > 0 {
		select {
		case ids := <-e.settled:
			for _, id := range ids {
				e.returned(e.users[id])
			}
		case ws := <-e.back:
			for _, w := range ws {
				e.returned(e.users[w.id])
			}
		case <-work.Done():
			return
		}
	}
}

// inBurst bounds how many more waiting messages the engine takes before
// it looks at its timers and its other channels again.
const inBurst = 256

// addWaiting takes the messages already waiting on in, up to inBurst: the
// loop's bookkeeping (the clock, the timer, a select over every channel)
// costs more than adding one message, and a backlog arrives many at a time.
// The bound keeps outcomes and dispatch from waiting behind a long backlog.
func (e *engine) addWaiting(now time.Time) {
	for range inBurst {
		select {
		case en := <-e.in:
			e.add(en, now)
		default:
			return
		}
	}
}

func (e *engine) add(en entry, now time.Time) {
	id := en.ch.User
	u := e.user(id)
	if len(u.pending) == 0 && !u.out {
		e.ready = append(e.ready, readyUser{id: id, u: u, since: now})
	}
	u.pending = append(u.pending, en)
}

// user returns the engine's entry for id, made if there is none.
func (e *engine) user(id change.Identifier) *user {
	u := e.users[id]
	if u == nil {
		u = e.spare.take()
		e.users[id] = u
	}
	return u
}

// drop forgets a user nothing is pending or out for. Nothing outside the
// engine holds a *user (the changes handed out are slices of its pending
// list's array, which clearing the user leaves alone), so it may be reused.
func (e *engine) drop(id change.Identifier, u *user) {
	delete(e.users, id)
	e.spare.put(u)
}

// returned marks a user out as back, settled or given back.
func (e *engine) returned(u *user) {
	if u != nil && u.out {
		u.out = false
		e.nOut--
	}
}

// settle is told that users' outcomes are known: those with changes that
// arrived meanwhile are ready at once, since they already waited.
func (e *engine) settle(ids []change.Identifier, now time.Time) {
	for _, id := range ids {
		u := e.users[id]
		if u == nil {
			continue
		}
		e.returned(u)
		e.rowsDone(u, nil, now)
		if len(u.pending) == 0 {
			e.drop(id, u)
			continue
		}
		e.ready = append(e.ready, readyUser{id: id, u: u, since: now.Add(-e.maxWait)})
	}
}

// rowsDone settles the tracked messages a user out had taken, but those
// given back, and lets users go whose email change waited for them.
func (e *engine) rowsDone(u *user, back []entry, now time.Time) {
	if e.rows == nil {
		return
	}
	taken := u.taken
	u.taken = nil
	done := taken
	if len(back) > 0 {
		done = nil
		for _, rs := range taken {
			if !slices.ContainsFunc(back, func(en entry) bool { return en.seq == rs.seq }) {
				done = append(done, rs)
			}
		}
	}
	e.moved = e.rows.done(done, e.moved[:0])
	for _, row := range e.moved {
		for _, r := range e.waiting[row] {
			e.ready = append(e.ready, readyUser{id: r.id, u: r.u, since: now.Add(-e.maxWait)})
		}
		delete(e.waiting, row)
	}
}

// giveBack takes users back unsent, their changes before any that arrived
// meanwhile, to go again after requeueDelay.
func (e *engine) giveBack(ws []userWork, now time.Time) {
	for _, w := range ws {
		u := e.user(w.id)
		e.returned(u)
		e.rowsDone(u, w.entries, now)
		u.pending = append(w.entries, u.pending...)
		delay := e.requeueDelay
		if w.delay > 0 {
			delay = w.delay
		}
		e.delayed = append(e.delayed, readyUser{id: w.id, u: u, since: now.Add(delay)})
	}
	// Longer pauses than the requeue delay break the delayed list's order.
	slices.SortStableFunc(e.delayed, func(a, b readyUser) int { return a.since.Compare(b.since) })
}

// promote moves given-back users whose pause is over to the ready list.
func (e *engine) promote(now time.Time) {
	n := 0
	for n < len(e.delayed) && !e.delayed[n].since.After(now) {
		e.ready = append(e.ready, readyUser{id: e.delayed[n].id, u: e.delayed[n].u, since: now.Add(-e.maxWait)})
		n++
	}
	e.delayed = dropFront(e.delayed, n)
}

// take returns the next candidate when one is due: a full one, or whatever
// is ready once the oldest ready user has waited maxWait. A user whose next
// message changes its row's email waits, off the ready list, until its
// row's older messages are settled.
func (e *engine) take(now time.Time) []userWork {
	if len(e.ready) == 0 || (len(e.ready) < e.maxUsers && now.Sub(e.ready[0].since) < e.maxWait) {
		return nil
	}
	var out []userWork
	n := 0
	for ; n < len(e.ready) && len(out) < e.maxUsers; n++ {
		r := e.ready[n]
		u := r.u
		q := u.pending
		if e.blocked(q[0]) {
			e.waiting[q[0].row] = append(e.waiting[q[0].row], r)
			continue
		}
		cut := cutAt(q)
		if cut == len(q) {
			u.pending = nil
		} else {
			u.pending = q[cut:]
		}
		u.out = true
		e.nOut++
		if e.rows != nil {
			u.taken = appendSeqs(u.oneTaken[:0], q[:cut])
		}
		out = append(out, userWork{id: r.id, entries: q[:cut:cut]})
	}
	e.ready = dropFront(e.ready, n)
	return out
}

// cutAt is how many of a user's pending messages go in one candidate: a
// delete is the last (what follows it must reach Iterable after the user
// is gone), and an email change the first (the move comes before what
// follows it and after what precedes it).
func cutAt(q []entry) int {
	for i, en := range q {
		if i > 0 && !en.ch.From.IsZero() {
			return i
		}
		if en.ch.Delete {
			return i + 1
		}
	}
	return len(q)
}

// blocked reports whether en changes its row's email while older messages
// of the row are not settled: their user, the old email, may still be
// written, and the profile must not move meanwhile.
func (e *engine) blocked(en entry) bool {
	return e.rows != nil && en.seq != 0 && !en.ch.From.IsZero() && !e.rows.first(rowSeq{row: en.row, seq: en.seq})
}

// appendSeqs appends the tracked messages of entries to dst.
func appendSeqs(dst []rowSeq, entries []entry) []rowSeq {
	for _, en := range entries {
		if en.seq != 0 {
			dst = append(dst, rowSeq{row: en.row, seq: en.seq})
		}
	}
	return dst
}
