package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// maxRequestsInFlight bounds concurrent bulkUpdate requests. Two or more
// keep the rate limit's budget used while a request is on the wire; the
// rest of the queue waits here and fills the next request.
const maxRequestsInFlight = 4

// sender cuts queued users into requests of at most maxUsers and maxBytes
// and sends them, at most maxRequestsInFlight at a time. A request is cut
// only when a slot is free, so under load requests leave full.
func (s *session) sender(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, maxRequestsInFlight)
	var queue []*sendItem
	for {
		if len(queue) == 0 {
			it, ok := <-s.sendQ
			if !ok {
				return
			}
			queue = append(queue, it)
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			s.abandon(ctx, queue)
			for it := range s.sendQ {
				s.abandon(ctx, []*sendItem{it})
			}
			return
		}
		queue = s.drainQueue(queue)
		n, size := 0, iterable.MaxEnvelopeSize
		for n < len(queue) && n < s.p.cfg.Batch.MaxUsers && (n == 0 || size+queue[n].size <= s.p.cfg.Batch.MaxBytes) {
			size += queue[n].size
			n++
		}
		req := queue[:n:n]
		queue = append(queue[:0:0], queue[n:]...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			s.send(ctx, req)
		}()
	}
}

// drainQueue adds whatever is waiting in sendQ without blocking.
func (s *session) drainQueue(queue []*sendItem) []*sendItem {
	for {
		select {
		case it, ok := <-s.sendQ:
			if !ok {
				return queue
			}
			queue = append(queue, it)
		default:
			return queue
		}
	}
}

// abandon gives users back unsent; their messages stay uncommitted.
func (s *session) abandon(ctx context.Context, items []*sendItem) {
	ids := make([]change.Identifier, len(items))
	for i, it := range items {
		ids[i] = it.user.ID
	}
	s.release(ctx, ids)
}

// send delivers one request and settles every user in it.
func (s *session) send(ctx context.Context, items []*sendItem) {
	req := iterable.BulkRequest{
		CreateNewFields:    s.p.cfg.Iterable.CreateNewFields,
		MergeNestedObjects: s.p.cfg.Iterable.MergeNestedObjects,
		PreferUserID:       s.p.cfg.Iterable.PreferUserID,
		UpdateOnly:         s.p.updateMode && s.p.updateOnlyFlag,
		Users:              make([]iterable.User, len(items)),
	}
	size := iterable.EnvelopeSize(req)
	for i, it := range items {
		req.Users[i] = it.user
		size += it.size
	}
	if !s.intend(ctx, items) {
		s.abandon(ctx, items)
		return
	}
	var res iterable.BulkResult
	attempts := 0
	ctx, end := s.p.obs.StartBatch(ctx, batchOf(items, size))
	err := s.retryIterable(ctx, func() error {
		attempts++
		var err error
		res, err = s.p.api.BulkUpdate(ctx, req)
		s.p.stats.request(statusOf(err), size)
		return err
	})
	end(attempts, err)
	if err == nil {
		s.settle(ctx, items, res)
		return
	}
	if ctx.Err() != nil {
		s.abandon(ctx, items)
		return
	}
	if fields, ok := iterable.IsTypeMismatch(err); ok {
		s.narrow(ctx, items, fields, err)
		return
	}
	class := change.ClassRejected
	var exhausted *exhaustedError
	if errors.As(err, &exhausted) {
		class = change.ClassRetriesExhausted
	}
	f := &change.Failure{Class: class, Reason: err.Error(), HTTPStatus: statusOf(err), Attempts: attempts}
	for _, it := range items {
		s.reject(ctx, it, f)
	}
}

// intend records, before the request leaves, which message each user's
// values come from (state.Store.Intend), so that if the process dies before
// the outcome is saved the next owner knows those users are in doubt.
// It returns false only when the drain ended first.
func (s *session) intend(ctx context.Context, items []*sendItem) bool {
	if s.p.dryRun {
		return true
	}
	ids := make([]change.Identifier, len(items))
	recs := make([]state.Record, len(items))
	positions := make([]change.Position, len(items))
	for i, it := range items {
		ids[i], recs[i], positions[i] = it.user.ID, it.rec, it.last
	}
	return s.retry(ctx, "record intent", func() error { return s.p.store.Intend(ctx, ids, recs, positions) }) == nil
}

// settle applies a 200 answer: users named in failedUpdates are dead-lettered
// (or, under updateOnly, counted absent), the rest are accepted.
func (s *session) settle(ctx context.Context, items []*sendItem, res iterable.BulkResult) {
	accepted := items[:0:0]
	for _, it := range items {
		rej, ok := res.Rejected[it.user.ID]
		switch {
		case !ok:
			accepted = append(accepted, it)
		case s.p.updateMode && strings.HasPrefix(rej.Bucket, "notFound"):
			s.p.stats.UsersAbsent.Add(1)
			s.finishAll(it.entries, &s.p.stats.Absent)
			s.release(ctx, []change.Identifier{it.user.ID})
		default:
			s.reject(ctx, it, &change.Failure{
				Class: change.ClassRejected, HTTPStatus: 200, Attempts: 1,
				Reason: fmt.Sprintf("Iterable rejected the user (failedUpdates.%s): %s", rej.Bucket, rej.Reason),
			})
		}
	}
	s.advance(ctx, accepted)
}

// advance records what Iterable accepted, then finishes the messages.
func (s *session) advance(ctx context.Context, items []*sendItem) {
	if len(items) == 0 {
		return
	}
	ids := make([]change.Identifier, len(items))
	recs := make([]state.Record, len(items))
	now := time.Now()
	for i, it := range items {
		ids[i] = it.user.ID
		recs[i] = s.p.store.Apply(it.rec, it.user.Fields, it.last, it.forget, now)
	}
	err := s.retry(ctx, "save state", func() error {
		if s.p.dryRun {
			return nil
		}
		return s.p.store.Save(ctx, ids, recs)
	})
	if err != nil {
		// Accepted but not recorded: leaving the messages uncommitted makes
		// the next owner send the same values again, which is harmless.
		s.release(ctx, ids)
		return
	}
	for _, it := range items {
		s.p.stats.UsersChanged.Add(1)
		s.p.stats.AttrsSent.Add(int64(len(it.user.Fields)))
		for _, en := range it.entries {
			s.p.obs.Accepted(ctx, eventTime(en))
		}
		s.finishAll(it.entries, &s.p.stats.Accepted)
	}
	s.release(ctx, ids)
}

// reject dead-letters every message behind a user; its state stays as it
// was, so the user's next change sends again.
func (s *session) reject(ctx context.Context, it *sendItem, f *change.Failure) {
	s.p.stats.UsersRejected.Add(1)
	for _, en := range it.entries {
		s.kill(ctx, en.msg, f)
	}
	s.release(ctx, []change.Identifier{it.user.ID})
}

// narrow handles a request Iterable refused as a whole because a value's
// type does not match its field. Users sending the offending value are
// dead-lettered; when the answer does not single anyone out, the request is
// split in halves. Everything is re-sent through bulkUpdate.
func (s *session) narrow(ctx context.Context, items []*sendItem, fields map[string]iterable.FieldMismatch, cause error) {
	var guilty, rest []*sendItem
	for _, it := range items {
		if offends(it.user.Fields, fields) {
			guilty = append(guilty, it)
		} else {
			rest = append(rest, it)
		}
	}
	if len(guilty) == 0 {
		if len(items) == 1 {
			guilty, rest = items, nil
		} else {
			half := len(items) / 2
			s.send(ctx, items[:half])
			s.send(ctx, items[half:])
			return
		}
	}
	for _, it := range guilty {
		s.reject(ctx, it, &change.Failure{Class: change.ClassTypeMismatch, HTTPStatus: 400, Attempts: 1, Reason: cause.Error()})
	}
	if len(rest) > 0 {
		s.send(ctx, rest)
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
