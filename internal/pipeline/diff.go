package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// sendItem is one user with attributes to send, on its way to a request.
type sendItem struct {
	w      userWork // the user and its live (not stale) messages
	rec    state.Record
	user   iterable.User
	forget bool
	last   change.Position // position of the newest message, for the state
	size   int             // bytes of the user in a request body
	// intended says rec holds this process's intent for the request.
	intended bool
	// del says the user is to be deleted (its last message is a delete);
	// from, that its profile is to move from that email first.
	del  bool
	from change.Identifier
	// rows are the source rows of the messages, as the index holds them;
	// primed says the existence set holds the user.
	rows   []rowRef
	primed bool
	// deletionChecked says Iterable no longer finds the user this sync
	// deleted: a write to it cannot vanish any more.
	deletionChecked bool
}

// rowRef is a source row of a user's messages: the index's entry for it,
// and the newest of the messages.
type rowRef struct {
	key state.RowKey
	row state.Row
	pos change.Position
}

// diff loads the users' state, drops stale messages, finds what changed,
// and hands changed users on: to the sender, or first to a delete, an
// email move, a check that a deletion is through, or a lookup. Users with
// nothing to send are finished here, before the index is read for the
// others.
func (s *Session) diff(users []userWork) {
	ids := make([]change.Identifier, len(users))
	for i, w := range users {
		ids[i] = w.id
	}
	var recs []state.Record
	err := s.retry(s.work, "load state", func() (err error) {
		recs, err = s.p.Store.Load(s.work, ids)
		return err
	})
	if err != nil { // the drain ended: abandoned, consumed again
		s.settle(ids...)
		return
	}
	now := time.Now()
	var done []change.Identifier
	var busy []userWork
	var items []*sendItem
	for i, w := range users {
		item, live := s.changed(w, recs[i], now)
		switch {
		case live:
			busy = append(busy, item.w)
		case item == nil:
			done = append(done, w.id)
		default:
			items = append(items, item)
		}
	}
	s.settle(done...)
	s.requeue(busy...)
	if len(items) == 0 {
		return
	}
	idx, err := s.index(items)
	if err != nil {
		s.giveUp(items)
		return
	}
	var r routes
	for i, item := range items {
		item.rows = idx.refs(item.w.entries)
		item.primed = idx.exists(i)
		switch {
		case item.del:
			r.deletes = append(r.deletes, item)
		case s.moveSource(item):
			r.moves = append(r.moves, item)
		default:
			s.route(item, &r)
		}
	}
	r.run(s)
}

// routes are the users of a candidate on their way: to the sender at once,
// or through a step before it.
type routes struct {
	ready, deletes, moves, waits, lookups []*sendItem
}

// run takes each step, for all of its users at once. The users ready to
// send reach the sender together, so a request cut at a turn that comes
// right now takes all of them, not the first few.
func (r *routes) run(s *Session) {
	s.enqueue(r.ready...)
	s.deleteUsers(r.deletes)
	s.move(r.moves)
	s.awaitDeletion(r.waits)
	s.lookup(r.lookups)
}

// route hands a user with attributes to send on to its next step.
func (s *Session) route(item *sendItem, r *routes) {
	switch {
	case item.size+iterable.MaxEnvelopeSize > s.p.cfg.MaxBytes:
		// Sent alone it would still be refused (413); a dead letter says
		// why instead, and the user's next change is tried again.
		s.reject(s.work, item, &change.Failure{Class: change.ClassTooLarge, Reason: fmt.Sprintf(
			"the user's changed attributes take %d bytes in a bulkUpdate body, over batch.max_bytes %d (Iterable refuses bodies over 4 MB)",
			item.size+iterable.MaxEnvelopeSize, s.p.cfg.MaxBytes)})
	case item.rec.Deleted && !item.deletionChecked:
		r.waits = append(r.waits, item)
	case s.needsLookup(item):
		r.lookups = append(r.lookups, item)
	default:
		r.ready = append(r.ready, item)
	}
}

// routeOne takes a single user through route and the step it leads to.
func (s *Session) routeOne(item *sendItem) {
	var r routes
	s.route(item, &r)
	r.run(s)
}

// changed returns what to send for one user, or nil after finishing its
// messages as stale or unchanged. live says the user must wait instead: a
// request for it is out (from this or another process) and its intent's
// lease runs; w's stale messages are finished and the rest stay in w.
func (s *Session) changed(w userWork, rec state.Record, now time.Time) (item *sendItem, live bool) {
	// fresh is w.entries itself until a stale message is met: most users
	// have none, and need no copy.
	fresh, copied := w.entries, false
	for i, en := range w.entries {
		stale := rec.Stale(en.ch.Pos)
		if s.p.cfg.Force {
			stale = rec.Superseded(en.ch.Pos)
		}
		// Older than a request in doubt or still out: that request's
		// newest message comes after this one, so this one must not
		// reach Iterable after it.
		stale = stale || rec.BeforeIntent(en.ch.Pos)
		if !stale {
			if copied {
				fresh = append(fresh, en)
			}
			continue
		}
		if !copied {
			fresh, copied = append(w.entries[:0:0], w.entries[:i]...), true
		}
		s.p.stats.Stale.Add(1)
		s.finish(en.msg)
	}
	if len(fresh) == 0 {
		return nil, false
	}
	if rec.IntentLive(now, s.p.cfg.IntentLease) {
		return &sendItem{w: userWork{id: w.id, entries: fresh}}, true
	}
	last := fresh[len(fresh)-1]
	if last.ch.Delete {
		// Whatever came before the delete is gone with the user.
		if rec.Gone && !rec.Uncertain() {
			s.finishAll(fresh, &s.p.stats.Unchanged)
			s.p.stats.UsersUnchanged.Add(1)
			return nil, false
		}
		return &sendItem{w: userWork{id: w.id, entries: fresh}, rec: rec, user: iterable.User{ID: w.id}, del: true, last: last.ch.Pos}, false
	}
	attrs, forget := merge(fresh)
	if forget && !rec.Exists() && !rec.Uncertain() {
		// Nothing was ever synced for this user: there is nothing to unset,
		// and sending nulls would create an empty profile.
		s.finishAll(fresh, &s.p.stats.Unchanged)
		s.p.stats.UsersUnchanged.Add(1)
		return nil, false
	}
	// A user in doubt may hold values in Iterable that the fingerprints do
	// not know of, so every attribute is sent; --force asks for the same.
	if !s.p.cfg.Force && !rec.Uncertain() {
		attrs = s.p.Store.Changed(rec, attrs)
	}
	if len(attrs) == 0 {
		s.finishAll(fresh, &s.p.stats.Unchanged)
		s.p.stats.UsersUnchanged.Add(1)
		return nil, false
	}
	u := iterable.User{ID: w.id, Fields: attrs}
	return &sendItem{
		w: userWork{id: w.id, entries: fresh}, rec: rec, user: u, forget: forget,
		last: fresh[len(fresh)-1].ch.Pos, size: iterable.UserSize(u) + 1,
	}, false
}

// merge coalesces a user's changes in partition order: later values win.
func merge(entries []entry) ([]change.Attr, bool) {
	if len(entries) == 1 {
		return entries[0].ch.Attrs, entries[0].ch.Forget
	}
	var out []change.Attr
	idx := map[string]int{}
	for _, en := range entries {
		for _, a := range en.ch.Attrs {
			if i, ok := idx[a.Name]; ok {
				out[i] = a
				continue
			}
			idx[a.Name] = len(out)
			out = append(out, a)
		}
	}
	return out, entries[len(entries)-1].ch.Forget
}

// needsLookup says whether update mode must ask Iterable if the user exists:
// a user the state knows was accepted before exists.
func (s *Session) needsLookup(item *sendItem) bool {
	return s.p.cfg.UpdateMode && !s.p.cfg.Request.UpdateOnly && !item.rec.Exists() && !item.primed
}

// lookup asks Iterable (rate-limited, a few at a time) whether users exist,
// sends those that do and finishes the others as absent. A lookup that
// fails for good dead-letters the user's messages: nothing is left
// unfinished.
func (s *Session) lookup(items []*sendItem) {
	each(items, func(it *sendItem) {
		exists, err := s.exists(it.user.ID)
		switch {
		case err == nil && exists:
			s.enqueue(it)
		case err == nil:
			s.p.stats.UsersAbsent.Add(1)
			s.finishAll(it.w.entries, &s.p.stats.Absent)
			s.settle(it.user.ID)
		case s.work.Err() != nil || s.ctx.Err() != nil:
			s.settle(it.user.ID) // abandoned: consumed again
		default:
			s.reject(s.work, it, failureOfCall(err, "look the user up"))
		}
	})
}

// exists answers from the negative cache or asks Iterable, retrying
// transient failures.
func (s *Session) exists(id change.Identifier) (bool, error) {
	if s.p.absent.has(id) {
		return false, nil
	}
	var found bool
	_, err := s.retryIterable(s.ctx, func(ctx context.Context) error {
		s.p.stats.Lookups.Add(1)
		var err error
		found, err = s.p.API.UserExists(ctx, id)
		return err
	}, nil)
	if err != nil {
		return false, err
	}
	if !found {
		s.p.absent.add(id)
	}
	return found, nil
}

// enqueue hands items to the sender, which is always listening until the
// session's work ends.
func (s *Session) enqueue(items ...*sendItem) {
	if len(items) == 0 {
		return
	}
	select {
	case s.sendQ <- items:
	case <-s.work.Done():
		s.giveUp(items)
	}
}
