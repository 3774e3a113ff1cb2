package kafka

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// commitInterval is how often finished offsets are committed while a
// session runs; they are also committed when it ends.
const commitInterval = time.Second

// session is one run of the runtime over a set of claims: a fetcher per
// claimed partition, the handler they feed, and the commits of what it
// finished.
type session struct {
	conn   *Conn
	claims []Claim
	// ends holds where a bounded read stops, per claim; nil for a session
	// that runs until its context ends.
	ends map[Claim]int64
	// commit stores finished offsets; nil commits nothing (replays, dry runs).
	commit func(Offsets) error
	// drain returns the context a stopping session's handler gets to
	// finish its work, called when the session stops.
	drain  func() (context.Context, context.CancelFunc)
	start  StartFunc
	budget *budget
	log    *slog.Logger
}

// run consumes until ctx ends or, when bounded, until every claim is read
// to its end and every message finished; then it stops the fetchers, lets
// the handler drain, and commits what finished. It returns the first fetch
// error that is not a transient broker error (an authentication failure);
// that error also ends the session for every partition.
func (s *session) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tr := newTracker(s.budget)
	positions := make([]change.Position, len(s.claims))
	for i, c := range s.claims {
		tr.start(c.Topic, c.Partition, c.Offset)
		positions[i] = change.Position{Topic: c.Topic, Partition: c.Partition, Offset: c.Offset}
	}
	h := s.start(ctx, positions, tr)

	var fetchers sync.WaitGroup
	var errOnce sync.Once
	var fetchErr error
	for _, c := range s.claims {
		end := int64(-1)
		if s.ends != nil {
			end = s.ends[c]
		}
		fetchers.Go(func() {
			f := newFetcher(s.conn, c.Topic, c.Partition, s.log)
			sink := &partitionSink{ctx: ctx, tracker: tr, handler: h, topic: c.Topic, partition: c.Partition}
			if err := f.run(ctx, c.Offset, end, sink); err != nil {
				s.log.Error("kafka: cannot read a partition; ending the session", "topic", c.Topic, "partition", c.Partition, "err", err)
				errOnce.Do(func() { fetchErr = err })
				cancel()
			}
		})
	}
	if s.ends != nil {
		go func() {
			fetchers.Wait()
			s.awaitFinished(ctx, tr)
			cancel()
		}()
	}
	committed := make(chan struct{})
	go func() { s.commitLoop(ctx, tr); close(committed) }()

	<-ctx.Done()
	fetchers.Wait()
	dctx, dcancel := s.drain()
	h.Drain(dctx)
	dcancel()
	<-committed
	s.commitNow(tr)
	tr.abandon()
	return fetchErr
}

// awaitFinished returns once no handed-out message is unfinished, or ctx
// ends.
func (s *session) awaitFinished(ctx context.Context, tr *tracker) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for tr.outstanding() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

func (s *session) commitLoop(ctx context.Context, tr *tracker) {
	t := time.NewTicker(commitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.commitNow(tr)
		case <-ctx.Done():
			return
		}
	}
}

func (s *session) commitNow(tr *tracker) {
	if s.commit == nil {
		return
	}
	offsets := tr.commitable()
	if len(offsets) == 0 {
		return
	}
	if err := s.commit(offsets); err != nil {
		s.log.Warn("kafka: commit offsets failed; will retry", "err", err)
		return
	}
	tr.committed(offsets)
}

// partitionSink hands one partition's records to the handler, each once it
// got its share of the held-message budget.
type partitionSink struct {
	ctx       context.Context
	tracker   *tracker
	handler   Handler
	topic     string
	partition int
}

func (p *partitionSink) deliver(m change.Message) bool {
	cost := costOf(m)
	if !p.tracker.budget.acquire(p.ctx, cost) {
		return false
	}
	p.tracker.handedOut(m.Pos.Topic, m.Pos.Partition, m.Pos.Offset, cost)
	return p.handler.Handle(p.ctx, m)
}

func (p *partitionSink) skip(offset int64) {
	p.tracker.skipped(p.topic, p.partition, offset)
}
