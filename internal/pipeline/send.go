package pipeline

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// sender cuts requests from the queue and sends them, at most MaxInFlight
// at a time. A request is cut only once the rate limit granted its turn,
// from whatever is queued then: while it waits for the turn, the queue
// keeps filling, so a backlog always leaves as full requests, also when
// several processes share one budget. Once the session stops, no request
// is cut; what is queued is given back unsent.
func (s *Session) sender() {
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, s.p.cfg.MaxInFlight)
	var queue []*sendItem
	for {
		if len(queue) == 0 {
			select {
			case items, ok := <-s.sendQ:
				if !ok {
					return
				}
				queue = append(queue, items...)
			case <-s.ctx.Done():
				s.abandon(queue)
				return
			}
		}
		select {
		case slots <- struct{}{}:
		case <-s.ctx.Done():
			s.abandon(queue)
			return
		}
		if !s.takeTurn(s.ctx) {
			<-slots
			s.abandon(queue)
			return
		}
		queue = s.drainQueue(queue)
		n, size := 0, iterable.MaxEnvelopeSize
		for n < len(queue) && n < s.p.cfg.MaxUsers && (n == 0 || size+queue[n].size <= s.p.cfg.MaxBytes) {
			size += queue[n].size
			n++
		}
		req := slices.Clone(queue[:n]) // dropFront clears them in queue
		queue = dropFront(queue, n)
		wg.Go(func() {
			defer func() { <-slots }()
			s.send(req)
		})
	}
}

// drainQueue adds whatever is waiting in sendQ without blocking.
func (s *Session) drainQueue(queue []*sendItem) []*sendItem {
	for {
		select {
		case items, ok := <-s.sendQ:
			if !ok {
				return queue
			}
			queue = append(queue, items...)
		default:
			return queue
		}
	}
}

// abandon gives queued users back unsent, and so does with everything still
// coming until the queue closes; their messages stay unfinished.
func (s *Session) abandon(queue []*sendItem) {
	for _, it := range queue {
		s.settle(it.user.ID)
	}
	for items := range s.sendQ {
		s.giveUp(items)
	}
}

// takeTurn waits for the rate limit to grant one request. A pacer that
// fails (its Redis is down) is retried without limit: that is not
// Iterable's failure, so it neither counts against retry.max_elapsed nor
// dead-letters anyone. It returns false when ctx ends first.
func (s *Session) takeTurn(ctx context.Context) bool {
	err := s.retry(ctx, "rate limiter", func() error {
		d, err := s.p.Pacer.Wait(ctx)
		s.p.Observer.LimiterWaited(ctx, "bulkUpdate", d)
		return err
	})
	return err == nil
}

// send records the intent of a freshly cut request and delivers it. Users
// another process wrote meanwhile are given back to be diffed again.
func (s *Session) send(items []*sendItem) {
	if items = s.intend(items, time.Now()); len(items) > 0 {
		s.deliver(items, true)
	}
}

// intend records, before a request leaves, which message each user's values
// come from (state.Store.Intend) and returns the users it could do so for,
// their records now holding the intent. For the others, someone else wrote
// the record since it was read (a replay, another member): they are given
// back, to be diffed against what is there now. An intent renewed before a
// retry goes the same way.
func (s *Session) intend(items []*sendItem, now time.Time) []*sendItem {
	ids := make([]change.Identifier, len(items))
	recs := make([]state.Record, len(items))
	positions := make([]change.Position, len(items))
	for i, it := range items {
		ids[i], recs[i], positions[i] = it.user.ID, it.rec, it.last
	}
	var swaps []state.Swap
	err := s.retry(s.work, "record intent", func() (err error) {
		swaps, err = s.p.Store.Intend(s.work, ids, recs, positions, now)
		return err
	})
	if err != nil { // the drain ended
		s.giveUp(items)
		return nil
	}
	kept := items[:0:0]
	var lost []userWork
	for i, sw := range swaps {
		if sw.Done {
			items[i].rec, items[i].intended = sw.Rec, true
			kept = append(kept, items[i])
			continue
		}
		lost = append(lost, items[i].w)
	}
	s.requeue(lost...)
	return kept
}

// giveUp leaves items unsent and unfinished; they are consumed again.
func (s *Session) giveUp(items []*sendItem) {
	for _, it := range items {
		s.settle(it.user.ID)
	}
}

// errAllLost ends the retries of a request none of whose users this process
// may still send: others wrote them while it waited.
var errAllLost = errors.New("every user of the request was taken over")

// deliver sends items as one bulkUpdate request, retrying transient
// failures, and settles every user in it. haveTurn says the first attempt's
// turn is already taken; every other attempt takes its own and renews the
// intents first.
func (s *Session) deliver(items []*sendItem, haveTurn bool) {
	req := s.p.cfg.Request
	var res iterable.BulkResult
	size := 0
	build := func() {
		req.Users = make([]iterable.User, len(items))
		size = iterable.EnvelopeSize(req)
		for i, it := range items {
			req.Users[i] = it.user
			size += it.size
		}
	}
	build()
	before := func() error {
		if !s.takeTurn(s.work) {
			return s.work.Err()
		}
		if items = s.intend(items, time.Now()); len(items) == 0 {
			return errAllLost
		}
		build()
		return nil
	}
	if !haveTurn {
		if err := before(); err != nil {
			if !errors.Is(err, errAllLost) {
				s.giveUp(items)
			}
			return
		}
	}
	ctx, end := s.p.Observer.StartBatch(s.work, batchOf(items, size))
	attempts, err := s.retryIterable(ctx, func(ctx context.Context) error {
		var err error
		res, err = s.p.API.BulkUpdate(ctx, req)
		s.p.stats.request(statusOf(err), size)
		s.report(ctx, err)
		return err
	}, before)
	end(attempts, err)
	switch {
	case err == nil:
		s.settleAnswer(ctx, items, res)
	case errors.Is(err, errAllLost):
	case s.work.Err() != nil:
		s.giveUp(items)
	case narrowable(err):
		s.narrow(ctx, items, err)
	default:
		f := failureOfCall(err, "update the users")
		f.Attempts = attempts
		for _, it := range items {
			s.reject(ctx, it, f)
		}
	}
}

// report tells the pacer how Iterable's rate limit took a request, so it
// settles on what other clients of the project leave. Best effort: a pacer
// that cannot record it (its Redis is down) still paces.
func (s *Session) report(ctx context.Context, err error) {
	if b, ok := iterable.IsRateLimited(err); ok {
		wait := b.Wait
		if wait <= 0 {
			wait = iterable.DefaultPenalty
		}
		_ = s.p.Pacer.Throttled(ctx, wait, b.Limit)
		return
	}
	if status := statusOf(err); status != 0 && status < 500 {
		_ = s.p.Pacer.Succeeded(ctx)
	}
}
