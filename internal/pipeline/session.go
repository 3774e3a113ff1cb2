package pipeline

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
)

// session is the pipeline over one set of partitions for as long as this
// process owns them (one consumer-group generation, or one replay):
//
//	fetchers ─► engine (coalesce) ─► diff workers ─► sender ─► state ─► offsets
//	    └────────────── dead letters ◄──────────────────┘
type session struct {
	p       *Pipeline
	offsets *kafka.Offsets
	force   bool // replay --force: re-send every attribute of the newest messages

	in       chan entry
	work     chan []userWork
	released chan []change.Identifier
	sendQ    chan *sendItem
	dead     chan deadItem
}

// fetchFunc reads one claimed partition, handing messages to deliver.
type fetchFunc func(ctx context.Context, claim kafka.Claim, deliver func(change.Message) bool) error

// diffWorkers run state loads and lookups while the engine keeps coalescing.
const diffWorkers = 2

// sessionOpts say what a session consumes and how it ends.
type sessionOpts struct {
	claims []kafka.Claim
	fetch  fetchFunc
	commit func(map[string]map[int]int64) error
	force  bool // re-send every attribute, not only changed ones (replay --force)
	// drain says how long in-flight work may take once the session ends;
	// nil means shutdown_grace.
	drain func() time.Duration
	// bounded sessions end by themselves once every fetcher has returned
	// and every fetched message is finished (replays); others run until
	// ctx ends (the consumer group).
	bounded bool
}

// runSession consumes claims until ctx ends (or, bounded, until all is
// read and finished), then stops fetching, gives in-flight work
// shutdown_grace to finish, and commits the watermark of finished messages.
// Work still unfinished after the grace is abandoned: it stays uncommitted
// and is consumed again by whoever owns the partition next.
func (p *Pipeline) runSession(parent context.Context, o sessionOpts) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	claims, fetch, commit := o.claims, o.fetch, o.commit
	s := &session{
		p: p, offsets: kafka.NewOffsets(), force: o.force,
		in:       make(chan entry, 4096),
		work:     make(chan []userWork),
		released: make(chan []change.Identifier, 64),
		sendQ:    make(chan *sendItem, 2*p.cfg.Batch.MaxUsers),
		dead:     make(chan deadItem, 1024),
	}
	for _, c := range claims {
		s.offsets.Start(c.Topic, c.Partition, c.Offset)
	}
	drain, cancelDrain := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDrain()
	stopGrace := context.AfterFunc(ctx, func() {
		grace := p.cfg.ShutdownGrace
		if o.drain != nil {
			grace = o.drain()
		}
		time.AfterFunc(grace, cancelDrain)
	})
	defer stopGrace()

	var fetchers, stages sync.WaitGroup
	var fetchErr atomic.Pointer[error]
	for _, c := range claims {
		fetchers.Go(func() {
			if err := fetch(ctx, c, func(m change.Message) bool { return s.consume(ctx, m) }); err != nil {
				// One partition that cannot be read ends the session for
				// all: the others drain and commit, and the consumer group
				// starts a new generation with fresh fetchers.
				p.log.Error("fetch failed; ending this generation", "topic", c.Topic, "partition", c.Partition, "err", err)
				fetchErr.CompareAndSwap(nil, &err)
				cancel()
			}
		})
	}
	e := newEngine(s.in, s.work, s.released, p.cfg.Batch.MaxUsers, p.cfg.Batch.MaxWait)
	stages.Go(func() { e.run(ctx, drain) })
	var differs sync.WaitGroup
	for range diffWorkers {
		differs.Go(func() {
			for users := range s.work {
				s.diff(drain, users)
			}
		})
	}
	stages.Go(func() { differs.Wait(); close(s.sendQ) })
	stages.Go(func() { s.sender(drain) })
	deadDone := make(chan struct{})
	go func() { s.deadLetters(drain); close(deadDone) }()
	committed := make(chan struct{})
	go func() { s.commitLoop(ctx, commit); close(committed) }()

	if o.bounded {
		go func() {
			fetchers.Wait()
			for s.offsets.Outstanding() > 0 && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
			cancel()
		}()
	}
	fetchers.Wait()
	stages.Wait()
	close(s.dead)
	defer p.obs.Released(claims)
	<-deadDone
	<-committed
	s.commitNow(commit)
	if perr := fetchErr.Load(); perr != nil && parent.Err() == nil && o.bounded {
		return *perr
	}
	return nil
}

// consume decodes and maps one message in its partition's fetcher
// goroutine, so decoding runs in parallel across partitions.
func (s *session) consume(ctx context.Context, m change.Message) bool {
	// While Iterable refuses the key, stop here: the message is not counted
	// and stays uncommitted until it is delivered.
	if s.p.auth.wait(ctx) != nil {
		return false
	}
	s.offsets.Fetched(m.Pos.Topic, m.Pos.Partition, m.Pos.Offset)
	s.p.stats.Consumed.Add(1)
	s.p.obs.Fetched(ctx, m)
	row, err := s.p.dec.Decode(m.Key, m.Value)
	if err != nil {
		s.kill(ctx, m, failureOf(err, change.ClassDecode))
		return ctx.Err() == nil
	}
	if row.Op == change.OpSkip {
		s.p.stats.skip(row.Skip, 1)
		s.finish(m)
		return true
	}
	uc, err := s.p.mapper.Map(row, dlq.OriginalPosition(m))
	if errors.Is(err, mapping.ErrIgnored) {
		s.p.stats.skip("delete_ignored", 1)
		s.finish(m)
		return true
	}
	if err != nil {
		s.kill(ctx, m, failureOf(err, change.ClassConvert))
		return ctx.Err() == nil
	}
	select {
	case s.in <- entry{msg: m, ch: uc}:
		return true
	case <-ctx.Done():
		return false
	}
}

// failureOf returns err's *change.Failure, or wraps err in one of class c.
func failureOf(err error, c change.Class) *change.Failure {
	var f *change.Failure
	if errors.As(err, &f) {
		return f
	}
	return &change.Failure{Class: c, Reason: err.Error()}
}

func (s *session) finish(m change.Message) {
	s.offsets.Done(m.Pos.Topic, m.Pos.Partition, m.Pos.Offset)
}

// finishAll finishes the messages behind entries, counting them in c.
func (s *session) finishAll(entries []entry, c *atomic.Int64) {
	c.Add(int64(len(entries)))
	for _, en := range entries {
		s.finish(en.msg)
	}
}

// release tells the engine the users' outcomes are known.
func (s *session) release(ctx context.Context, ids []change.Identifier) {
	if len(ids) == 0 {
		return
	}
	select {
	case s.released <- ids:
	case <-ctx.Done():
	}
}

// commitInterval is how often finished offsets are committed while running.
const commitInterval = time.Second

func (s *session) commitLoop(ctx context.Context, commit func(map[string]map[int]int64) error) {
	t := time.NewTicker(commitInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.commitNow(commit)
		case <-ctx.Done():
			return
		}
	}
}

func (s *session) commitNow(commit func(map[string]map[int]int64) error) {
	offsets := s.offsets.Commitable()
	if len(offsets) == 0 {
		return
	}
	if err := commit(offsets); err != nil {
		s.p.log.Warn("commit offsets failed; will retry", "err", err)
		return
	}
	s.offsets.Committed(offsets)
}
