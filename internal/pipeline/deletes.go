package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// Deletes (source.on_delete: delete). A delete is the last message of its
// user's candidate (see cutAt): what came before it is superseded, and
// what follows waits until it is through. The user's record becomes a
// tombstone that keeps the delete's position, so that older messages stay
// stale, and says the user was deleted, because Iterable deletes
// asynchronously: a write sent before the deletion took effect would
// vanish with the user. So the user's next write first waits until a
// lookup no longer finds the user (awaitDeletion).

// deleteUsers deletes users from Iterable, a few at a time (the client
// paces them at the delete endpoint's rate).
func (s *Session) deleteUsers(items []*sendItem) {
	each(items, s.deleteOne)
}

// each runs f for every item, at most 8 at a time, and returns when all
// are done.
func each(items []*sendItem, f func(*sendItem)) {
	if len(items) == 0 {
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, it := range items {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(it)
		})
	}
	wg.Wait()
}

// deleteOne records the intent to delete, deletes, and settles the user.
func (s *Session) deleteOne(it *sendItem) {
	kept := s.intend([]*sendItem{it}, time.Now())
	if len(kept) == 0 {
		return // taken over meanwhile: given back by intend
	}
	var found bool
	attempts, err := s.retryIterable(s.work, func(ctx context.Context) error {
		var err error
		found, err = s.p.API.DeleteUser(ctx, it.user.ID)
		return err
	}, func() error {
		if len(s.intend([]*sendItem{it}, time.Now())) == 0 {
			return errAllLost
		}
		return nil
	})
	switch {
	case err == nil:
		s.deleted(it, found)
	case errors.Is(err, errAllLost):
	case s.work.Err() != nil:
		s.giveUp([]*sendItem{it})
	default:
		f := failureOfCall(err, "delete the user")
		f.Attempts = attempts
		s.reject(s.work, it, f)
	}
}

// deleted records that Iterable took the delete: the user's record becomes
// a tombstone (marked deleted if Iterable had the user, so that a write
// waits for the deletion to take effect), it leaves the existence set, its
// rows name nobody, and its messages are finished.
func (s *Session) deleted(it *sendItem, found bool) {
	rec := state.Tombstone(it.rec, it.last, found, time.Now())
	err := s.retry(s.work, "save state", func() error {
		sw, err := s.p.Store.Save(s.work, []change.Identifier{it.user.ID}, []state.Record{rec})
		if err == nil && !sw[0].Done {
			// Only a writer whose intent's lease ran out meanwhile can
			// get here; the delete is done all the same.
			s.p.Log.Warn("state: the record of a deleted user was written by someone else meanwhile; left as it is", "pos", it.last.String())
		}
		return err
	})
	if err != nil {
		s.giveUp([]*sendItem{it}) // consumed again: deleting twice is harmless
		return
	}
	if s.p.Index != nil {
		_ = s.retry(s.work, "remove from the existence set", func() error {
			return s.p.Index.Unmark(s.work, []change.Identifier{it.user.ID})
		})
	}
	s.pointRows([]*sendItem{it}, true)
	if found {
		s.p.stats.UsersDeleted.Add(1)
	}
	s.p.absent.add(it.user.ID)
	s.finishAll(it.w.entries, &s.p.stats.Accepted)
	s.settle(it.user.ID)
}

// awaitDeletion holds back writes to users this sync deleted until a lookup
// no longer finds them: Iterable deletes asynchronously, and a write that
// arrives before the deletion is through vanishes with it. A user still
// found waits, longer the longer the deletion takes; one gone is written
// (update mode: counted absent, as the user no longer exists).
func (s *Session) awaitDeletion(items []*sendItem) {
	each(items, func(it *sendItem) {
		var found bool
		_, err := s.retryIterable(s.ctx, func(ctx context.Context) error {
			s.p.stats.Lookups.Add(1)
			var err error
			found, err = s.p.API.UserExists(ctx, it.user.ID)
			return err
		}, nil)
		switch {
		case err != nil && (s.work.Err() != nil || s.ctx.Err() != nil):
			s.settle(it.user.ID)
		case err != nil:
			s.reject(s.work, it, failureOfCall(err, "look the user up"))
		case found:
			s.p.Log.Debug("a deleted user is still found in Iterable; its write waits", "pos", it.last.String())
			it.w.delay = deletionRecheck(time.Since(it.rec.AcceptedAt))
			s.requeue(it.w)
		case s.p.cfg.UpdateMode && !s.p.cfg.Request.UpdateOnly:
			s.p.stats.UsersAbsent.Add(1)
			s.finishAll(it.w.entries, &s.p.stats.Absent)
			s.settle(it.user.ID)
		default:
			it.deletionChecked = true
			s.routeOne(it)
		}
	})
}

// deletionRecheck is how long a write to a deleted user waits before the
// next lookup, given how long ago the user was deleted: a second at first,
// then half that time, at most 30 seconds, so that a slow deletion costs
// few lookups and a quick one little delay.
func deletionRecheck(since time.Duration) time.Duration {
	return min(max(since/2, time.Second), 30*time.Second)
}
