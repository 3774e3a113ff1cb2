package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// settleAnswer applies a 200 answer: users named in failedUpdates are
// dead-lettered (or, under updateOnly, counted absent), the rest are
// accepted. Fields Iterable filtered out were not stored, so they are not
// recorded as accepted.
func (s *Session) settleAnswer(ctx context.Context, items []*sendItem, res iterable.BulkResult) {
	if len(res.FilteredOutFields) > 0 {
		s.p.filteredOut(res.FilteredOutFields)
	}
	accepted := items[:0:0]
	for _, it := range items {
		rej, ok := res.Rejected[it.user.ID]
		switch {
		case !ok:
			accepted = append(accepted, it)
		case s.p.cfg.UpdateMode && strings.HasPrefix(rej.Bucket, "notFound"):
			s.withdraw(it)
			s.p.stats.UsersAbsent.Add(1)
			s.finishAll(it.w.entries, &s.p.stats.Absent)
			s.settle(it.user.ID)
		default:
			s.reject(ctx, it, &change.Failure{
				Class: change.ClassRejected, HTTPStatus: 200, Attempts: 1,
				Reason: fmt.Sprintf("Iterable rejected the user (failedUpdates.%s): %s", rej.Bucket, rej.Reason),
			})
		}
	}
	s.advance(accepted, res)
}

// maxSaveAttempts bounds how often the state of accepted users is written
// again after someone else wrote it meanwhile.
const maxSaveAttempts = 3

// advance records what Iterable accepted, then finishes the messages. A
// user whose record someone else moved meanwhile (only possible once the
// intent's lease ran out) is recorded over what is there if that is older,
// and left alone if it is newer.
func (s *Session) advance(items []*sendItem, res iterable.BulkResult) {
	now := time.Now()
	todo := items
	var ok []*sendItem
	// The rows are written before the users are settled: the next message
	// of a row, once nothing of it is out, reads the index.
	defer func() {
		s.pointRows(ok, false)
		for _, it := range ok {
			s.accepted(it)
		}
	}()
	for attempt := 0; attempt < maxSaveAttempts && len(todo) > 0; attempt++ {
		ids := make([]change.Identifier, len(todo))
		recs := make([]state.Record, len(todo))
		for i, it := range todo {
			ids[i] = it.user.ID
			recs[i] = s.p.Store.Apply(it.rec, stored(it.user.Fields, res.FilteredOut(it.user)), it.last, it.forget, now)
		}
		var swaps []state.Swap
		err := s.retry(s.work, "save state", func() (err error) {
			swaps, err = s.p.Store.Save(s.work, ids, recs)
			return err
		})
		if err != nil {
			// Accepted but not recorded: leaving the messages unfinished
			// makes the next owner send the same values again, which is
			// harmless.
			s.giveUp(todo)
			return
		}
		var again []*sendItem
		for i, sw := range swaps {
			it := todo[i]
			if !sw.Done && !sw.Rec.Stale(it.last) && !sw.Rec.BeforeIntent(it.last) {
				it.rec = sw.Rec
				again = append(again, it)
				continue
			}
			ok = append(ok, it)
		}
		todo = again
	}
	for _, it := range todo {
		s.p.Log.Warn("state: could not record an accepted user after repeated concurrent writes; its next change re-sends", "pos", it.last.String())
		ok = append(ok, it)
	}
}

// accepted counts and finishes a user Iterable accepted.
func (s *Session) accepted(it *sendItem) {
	s.p.stats.UsersChanged.Add(1)
	s.p.stats.AttrsSent.Add(int64(len(it.user.Fields)))
	for _, en := range it.w.entries {
		s.p.Observer.Accepted(s.work, eventTime(en))
	}
	s.finishAll(it.w.entries, &s.p.stats.Accepted)
	s.settle(it.user.ID)
}

// stored drops from sent the fields Iterable filtered out.
func stored(sent []change.Attr, filtered []string) []change.Attr {
	if len(filtered) == 0 {
		return sent
	}
	out := make([]change.Attr, 0, len(sent))
	for _, a := range sent {
		if !slices.Contains(filtered, a.Name) {
			out = append(out, a)
		}
	}
	return out
}

// reject dead-letters every message behind a user, with the trace context
// of ctx (the request's); its state stays as it was, so the user's next
// change sends again.
func (s *Session) reject(ctx context.Context, it *sendItem, f *change.Failure) {
	s.p.stats.UsersRejected.Add(1)
	s.withdraw(it)
	for _, en := range it.w.entries {
		s.kill(ctx, en.msg, f)
	}
	s.settle(it.user.ID)
}

// withdraw takes back the intent of a user whose request Iterable answered
// without applying it, so the user's next change need not wait for the
// intent's lease. Best effort: an intent left behind only delays that.
func (s *Session) withdraw(it *sendItem) {
	if !it.intended {
		return
	}
	_ = s.retry(s.work, "withdraw intent", func() error {
		_, err := s.p.Store.Save(s.work, []change.Identifier{it.user.ID}, []state.Record{it.rec.WithoutIntent()})
		return err
	})
}

// narrowable says whether Iterable refused a whole request for something a
// few of its users sent: a value whose type does not match its field, or
// parameters or JSON it could not take. Such a request is narrowed down to
// the users at fault.
func narrowable(err error) bool {
	if _, ok := iterable.IsTypeMismatch(err); ok {
		return true
	}
	return iterable.IsInvalidRequest(err)
}

// narrow handles a request Iterable refused as a whole because of what some
// users sent. Users sending a value Iterable named are dead-lettered; when
// the answer singles no one out, the request is split in halves, each sent
// on its own turn. Everything goes through bulkUpdate; a user alone in a
// refused request is dead-lettered.
func (s *Session) narrow(ctx context.Context, items []*sendItem, cause error) {
	class := change.ClassRejected
	var guilty, rest []*sendItem
	if fields, ok := iterable.IsTypeMismatch(cause); ok {
		class = change.ClassTypeMismatch
		for _, it := range items {
			if offends(it.user.Fields, fields) {
				guilty = append(guilty, it)
			} else {
				rest = append(rest, it)
			}
		}
	}
	if len(guilty) == 0 {
		if len(items) > 1 {
			half := len(items) / 2
			s.deliver(items[:half], false)
			s.deliver(items[half:], false)
			return
		}
		guilty, rest = items, nil
	}
	for _, it := range guilty {
		s.reject(ctx, it, &change.Failure{Class: class, HTTPStatus: 400, Attempts: 1, Reason: cause.Error(), Detail: iterable.Detail(cause)})
	}
	if len(rest) > 0 {
		s.deliver(rest, false)
	}
}

// offends reports whether attrs send the offending value of a mismatched
// field. Field names may come as "<project>:::<field>".
func offends(attrs []change.Attr, fields map[string]iterable.FieldMismatch) bool {
	for name, m := range fields {
		if i := strings.LastIndex(name, ":::"); i >= 0 {
			name = name[i+3:]
		}
		for _, a := range attrs {
			if a.Name == name && (len(m.OffendingValue) == 0 || sameJSON(a.JSON, m.OffendingValue)) {
				return true
			}
		}
	}
	return false
}

func sameJSON(a, b []byte) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}
