package pipeline

import (
	"context"
	"fmt"
	"sync"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// sendItem is one user with attributes to send, on its way to a request.
type sendItem struct {
	entries []entry // the live (not stale) messages behind the change
	rec     state.Record
	user    iterable.User
	forget  bool
	last    change.Position // position of the newest message, for the state
	size    int             // bytes of the user in a request body
}

// diff loads the users' state in one round trip, drops stale messages,
// finds what changed, and hands changed users to the sender. Users with
// nothing to send are finished here.
func (s *session) diff(ctx context.Context, users []userWork) {
	ids := make([]change.Identifier, len(users))
	for i, w := range users {
		ids[i] = w.id
	}
	var recs []state.Record
	err := s.retry(ctx, "load state", func() (err error) {
		recs, err = s.p.store.Load(ctx, ids)
		return err
	})
	if err != nil { // drain ended: abandon, the messages are consumed again
		s.release(ctx, ids)
		return
	}
	var finished []change.Identifier
	var lookups []*sendItem
	for i, w := range users {
		item := s.changed(w, recs[i])
		switch {
		case item == nil:
			finished = append(finished, w.id)
		case item.size+iterable.MaxEnvelopeSize > s.p.cfg.Batch.MaxBytes:
			// Sent alone it would still be refused (413); a dead letter says
			// why instead, and the user's next change is tried again.
			s.reject(ctx, item, &change.Failure{Class: change.ClassTooLarge, Reason: fmt.Sprintf(
				"the user's changed attributes take %d bytes in a bulkUpdate body, over batch.max_bytes %d (Iterable refuses bodies over 4 MB)",
				item.size+iterable.MaxEnvelopeSize, s.p.cfg.Batch.MaxBytes)})
		case s.needsLookup(item):
			lookups = append(lookups, item)
		default:
			if !s.enqueue(ctx, item) {
				finished = append(finished, w.id)
			}
		}
	}
	s.release(ctx, finished)
	s.lookup(ctx, lookups)
}

// changed returns what to send for one user, or nil after finishing its
// messages as stale or unchanged.
func (s *session) changed(w userWork, rec state.Record) *sendItem {
	live := w.entries[:0:0]
	for _, en := range w.entries {
		stale := rec.Stale(en.ch.Pos)
		if s.force {
			stale = rec.Superseded(en.ch.Pos)
		}
		// Older than a request in doubt: that request's newest message is
		// consumed again (it was never committed) and sent whole, so this
		// one must not reach Iterable first.
		stale = stale || rec.BeforeIntent(en.ch.Pos)
		if !stale {
			live = append(live, en)
			continue
		}
		s.p.stats.Stale.Add(1)
		s.finish(en.msg)
	}
	if len(live) == 0 {
		return nil
	}
	attrs, forget := merge(live)
	if forget && !rec.Found && !rec.Uncertain() {
		// Nothing was ever synced for this user: there is nothing to unset,
		// and sending nulls would create an empty profile.
		s.finishAll(live, &s.p.stats.Unchanged)
		s.p.stats.UsersUnchanged.Add(1)
		return nil
	}
	// A user in doubt may hold values in Iterable that the fingerprints do
	// not know of, so every attribute is sent; --force asks for the same.
	if !s.force && !rec.Uncertain() {
		attrs = s.p.store.Changed(rec, attrs)
	}
	if len(attrs) == 0 {
		s.finishAll(live, &s.p.stats.Unchanged)
		s.p.stats.UsersUnchanged.Add(1)
		return nil
	}
	u := iterable.User{ID: w.id, Fields: attrs}
	return &sendItem{
		entries: live, rec: rec, user: u, forget: forget,
		last: live[len(live)-1].ch.Pos, size: iterable.UserSize(u) + 1,
	}
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
// a user the state knows was accepted before, so it exists.
func (s *session) needsLookup(item *sendItem) bool {
	return s.p.updateMode && !s.p.updateOnlyFlag && !item.rec.Found
}

// lookup asks Iterable (rate-limited, a few at a time) whether users exist,
// sends those that do and finishes the others as absent.
func (s *session) lookup(ctx context.Context, items []*sendItem) {
	if len(items) == 0 {
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			exists, err := s.exists(ctx, it.user.ID)
			switch {
			case err != nil:
				s.release(ctx, []change.Identifier{it.user.ID})
			case exists:
				if !s.enqueue(ctx, it) {
					s.release(ctx, []change.Identifier{it.user.ID})
				}
			default:
				s.p.stats.UsersAbsent.Add(1)
				s.finishAll(it.entries, &s.p.stats.Absent)
				s.release(ctx, []change.Identifier{it.user.ID})
			}
		}()
	}
	wg.Wait()
}

// exists answers from the negative cache or asks Iterable, retrying
// transient failures. An error means the drain ended.
func (s *session) exists(ctx context.Context, id change.Identifier) (bool, error) {
	if s.p.absent.has(id) {
		return false, nil
	}
	var found bool
	err := s.retryIterable(ctx, func() error {
		s.p.stats.Lookups.Add(1)
		var err error
		found, err = s.p.api.UserExists(ctx, id)
		return err
	})
	if err != nil {
		return false, err
	}
	if !found {
		s.p.absent.add(id)
	}
	return found, nil
}

// enqueue hands an item to the sender; false when the drain ended first.
func (s *session) enqueue(ctx context.Context, item *sendItem) bool {
	select {
	case s.sendQ <- item:
		return true
	case <-ctx.Done():
		return false
	}
}
