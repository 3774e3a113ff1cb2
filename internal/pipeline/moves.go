package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// Email changes (identifier.as email, on_email_change move). A row whose
// email changed names a new user; written as it is, it would create a
// second profile and leave the old one, with everything attrsync does not
// map, behind. Instead the profile moves first (users/updateEmail), then
// the row's attributes follow as usual. The move is ordered like every
// write: it waits for the row's older messages (see engine.blocked), and
// neither email may have a request out while it is made: both records
// carry an intent, compare-and-set, from any process. Once Iterable moved
// the profile, the new email's record takes over the old one's
// fingerprints (what the profile holds), the old one becomes a tombstone,
// and the row index names the new email.

// move moves the profiles of users whose row's email changed, a few at a
// time (the client paces updateEmail on its own budget).
func (s *Session) move(items []*sendItem) {
	if len(items) == 0 {
		return
	}
	olds := make([]change.Identifier, len(items))
	for i, it := range items {
		olds[i] = it.from
	}
	var recs []state.Record
	err := s.retry(s.work, "load state", func() (err error) {
		recs, err = s.p.Store.Load(s.work, olds)
		return err
	})
	if err != nil {
		s.giveUp(items)
		return
	}
	idx := make(map[*sendItem]state.Record, len(items))
	for i, it := range items {
		idx[it] = recs[i]
	}
	each(items, func(it *sendItem) { s.moveOne(it, idx[it]) })
}

// moveOne moves one user's profile from it.from, whose record is old.
func (s *Session) moveOne(it *sendItem, old state.Record) {
	now := time.Now()
	switch {
	case old.Gone && !old.Uncertain():
		// The old email's profile was moved on or deleted already (an
		// index that lags): there is nothing to move.
		s.noMove(it)
		return
	case old.IntentLive(now, s.p.cfg.IntentLease):
		s.requeue(it.w)
		return
	}
	ids := []change.Identifier{it.from, it.user.ID}
	recs := []state.Record{old, it.rec}
	intend := func() error {
		var swaps []state.Swap
		err := s.retry(s.work, "record intent", func() (err error) {
			swaps, err = s.p.Store.Intend(s.work, ids, recs, []change.Position{it.last, it.last}, time.Now())
			return err
		})
		if err != nil {
			return err
		}
		for i, sw := range swaps {
			if sw.Done {
				recs[i] = sw.Rec
			}
		}
		if !swaps[0].Done || !swaps[1].Done {
			s.withdrawAll(ids, recs, swaps)
			return errAllLost
		}
		return nil
	}
	if err := intend(); err != nil {
		if errors.Is(err, errAllLost) {
			s.requeue(it.w)
		} else {
			s.giveUp([]*sendItem{it})
		}
		return
	}
	it.rec, it.intended = recs[1], true
	attempts, err := s.retryIterable(s.work, func(ctx context.Context) error {
		return s.p.API.UpdateEmail(ctx, it.from, it.user.ID.Value)
	}, intend)
	if err == nil {
		s.moved(it, recs[0], recs[1])
		return
	}
	switch {
	case errors.Is(err, errAllLost):
		s.requeue(it.w)
	case s.work.Err() != nil:
		s.giveUp([]*sendItem{it}) // in doubt: the intents stay until their lease ends
	case errors.Is(err, iterable.ErrUserNotFound):
		// Iterable has no profile under the old email (never created, or
		// deleted elsewhere; or an earlier attempt moved it and its answer
		// was lost): the state must stop saying it has.
		sw := s.save(ids, []state.Record{state.Tombstone(recs[0], it.last, false, time.Now()), recs[1].WithoutIntent()})
		if len(sw) < 2 || !sw[1].Done {
			s.requeue(it.w)
			return
		}
		it.rec, it.intended = sw[1].Rec, false
		s.noMove(it)
	default:
		s.withdrawAll(ids[:1], recs[:1], []state.Swap{{Done: true}})
		f := moveFailure(err)
		f.Attempts = attempts
		s.reject(s.work, it, f)
	}
}

// moved records a move Iterable made: the new email's record takes the old
// one's fingerprints, the old one becomes a tombstone, the row names the new
// email; then the row's attributes go through bulkUpdate, after
// MoveSettle.
func (s *Session) moved(it *sendItem, old, cur state.Record) {
	s.p.stats.EmailsMoved.Add(1)
	s.p.Log.Info("moved a profile to its row's new email (users/updateEmail)", "pos", it.last.String())
	s.save([]change.Identifier{it.from, it.user.ID}, []state.Record{
		state.Tombstone(old, it.last, false, time.Now()),
		state.Moved(old, cur),
	})
	s.pointRows([]*sendItem{it}, false)
	s.p.absent.forget(it.user.ID)
	it.w.delay = s.p.cfg.MoveSettle
	s.requeue(clearMove(it.w))
}

// noMove sends a user whose move was found needless as if it had none.
// The row index is pointed at the user first, so that the next message of
// the row does not try the move again.
func (s *Session) noMove(it *sendItem) {
	s.pointRows([]*sendItem{it}, false)
	it.from = change.Identifier{}
	it.w = clearMove(it.w)
	s.routeOne(it)
}

// clearMove drops the email change from a user's messages: it is done (or
// needless), and must not be made again when they are diffed once more.
func clearMove(w userWork) userWork {
	w.entries = append(w.entries[:0:0], w.entries...)
	for i := range w.entries {
		w.entries[i].ch.From = change.Identifier{}
	}
	return w
}

// moveFailure is the dead-letter failure of a move Iterable refused.
func moveFailure(err error) *change.Failure {
	f := failureOfCall(err, "move the profile to the row's new email (users/updateEmail)")
	if f.Class == change.ClassRetriesExhausted {
		return f
	}
	f.Class = change.ClassEmailChange
	switch {
	case errors.Is(err, iterable.ErrEmailTaken):
		f.Reason = fmt.Sprintf("Iterable refused to move the profile to the row's new email: another profile has it (%v)", err)
	case errors.Is(err, iterable.ErrUserForgotten):
		f.Reason = fmt.Sprintf("Iterable refused to move the profile to the row's new email: it was GDPR-forgotten (%v)", err)
	}
	return f
}

// withdrawAll takes back the intents that swaps say were written.
func (s *Session) withdrawAll(ids []change.Identifier, recs []state.Record, swaps []state.Swap) {
	var wIDs []change.Identifier
	var wRecs []state.Record
	for i, sw := range swaps {
		if sw.Done {
			wIDs, wRecs = append(wIDs, ids[i]), append(wRecs, recs[i].WithoutIntent())
		}
	}
	s.save(wIDs, wRecs)
}

// save writes records, best effort: a record someone else wrote meanwhile
// is left as it is (only a process whose lease ran out gets there). It
// returns the outcomes, nil when the drain ended first.
func (s *Session) save(ids []change.Identifier, recs []state.Record) []state.Swap {
	if len(ids) == 0 {
		return nil
	}
	var swaps []state.Swap
	_ = s.retry(s.work, "save state", func() (err error) {
		swaps, err = s.p.Store.Save(s.work, ids, recs)
		return err
	})
	return swaps
}
