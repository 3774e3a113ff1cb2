package pipeline

import (
	"context"
	"errors"
	"sync"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/mapping"
)

// diffWorkers run state loads and lookups while the engine keeps coalescing.
const diffWorkers = 2

// Session is the pipeline over one set of partitions for as long as this
// process owns them:
//
//	Handle (per partition) ─► engine (coalesce) ─► diff ─► sender ─► settle
//	        └───────────── dead letters ◄──────────────────────┘
//
// Every message it takes ends in exactly one of: accepted by Iterable,
// unchanged, stale, skipped by rule, absent (update mode), or written to
// the dead-letter topic; only then is the Finisher told. A message still
// unfinished when the session's drain ends stays uncommitted and is
// consumed again by the partition's next owner.
type Session struct {
	p      *Pipeline
	fin    Finisher
	claims []change.Position
	// ctx ends when no new work may start (the generation ended, or the
	// process is stopping); work ends when the drain ends, and with it
	// every request still out.
	ctx      context.Context
	work     context.Context
	stopWork context.CancelFunc

	in       chan entry
	toDiff   chan []userWork
	settled  chan []change.Identifier
	back     chan []userWork
	sendQ    chan []*sendItem
	dead     chan deadItem
	stages   sync.WaitGroup
	deadDone chan struct{}
	// engineDone is closed when the engine stops listening for outcomes.
	engineDone chan struct{}
	// rows tracks the messages of each source row while they are out, when
	// email changes are followed or rows tracked; nil otherwise.
	rows *rowTracker
}

func startSession(ctx context.Context, p *Pipeline, claims []change.Position, f Finisher) *Session {
	work, stop := context.WithCancel(context.WithoutCancel(ctx))
	s := &Session{
		p: p, fin: f, claims: claims, ctx: ctx, work: work, stopWork: stop,
		in:         make(chan entry, 1024),
		toDiff:     make(chan []userWork),
		settled:    make(chan []change.Identifier, 64),
		back:       make(chan []userWork, 64),
		sendQ:      make(chan []*sendItem, 2*diffWorkers),
		dead:       make(chan deadItem, 1024),
		deadDone:   make(chan struct{}),
		engineDone: make(chan struct{}),
	}
	if p.cfg.MoveEmails || p.cfg.TrackRows {
		s.rows = newRowTracker()
	}
	e := newEngine(s, p.cfg)
	s.stages.Go(func() { e.run(ctx, work); close(s.engineDone) })
	var differs sync.WaitGroup
	for range diffWorkers {
		differs.Go(func() {
			for users := range s.toDiff {
				s.diff(users)
			}
		})
	}
	s.stages.Go(func() { differs.Wait(); close(s.sendQ) })
	s.stages.Go(s.sender)
	go func() { s.deadLetters(); close(s.deadDone) }()
	return s
}

// Handle decodes and maps one message in its partition's goroutine, so that
// decoding runs in parallel across partitions, and hands the change to the
// engine. It blocks while Iterable refuses the API key (the message is not
// taken, and consumption stops), and while a decoding dependency is
// unreachable.
func (s *Session) Handle(ctx context.Context, m change.Message) bool {
	if s.p.auth.wait(ctx) != nil {
		return false
	}
	if _, cut := m.Header(dlq.HeaderTruncated); cut {
		// A dead letter cut to fit its topic (dlq replay): what is left
		// cannot be decoded, and dead-lettering it again would loop.
		s.p.Log.Warn("skipping a truncated dead letter: its value was cut to fit the dead-letter topic", "pos", m.Pos.String())
		s.p.stats.Consumed.Add(1)
		s.p.stats.skip("truncated_dead_letter", 1)
		s.finish(m)
		return true
	}
	row, err := s.decode(ctx, m)
	if ctx.Err() != nil {
		return false
	}
	s.p.stats.Consumed.Add(1)
	s.p.Observer.Fetched(ctx, m)
	if err != nil {
		s.kill(ctx, m, failureOf(err, change.ClassDecode))
		return true
	}
	if row.Op == change.OpSkip {
		s.p.stats.skip(row.Skip, 1)
		s.finish(m)
		return true
	}
	uc, err := s.p.Mapper.Map(row, dlq.OriginalPosition(m))
	// The change keeps the values it took from the row, not its Columns.
	s.p.Decoder.Recycle(row)
	if errors.Is(err, mapping.ErrIgnored) {
		s.p.stats.skip("delete_ignored", 1)
		s.finish(m)
		return true
	}
	if err != nil {
		s.kill(ctx, m, failureOf(err, change.ClassConvert))
		return true
	}
	en, ok := s.track(ctx, entry{msg: m, ch: uc})
	if ctx.Err() != nil {
		return false
	}
	if !ok {
		s.p.stats.skip("delete_unknown_user", 1)
		s.finish(m)
		return true
	}
	select {
	case s.in <- en:
		return true
	case <-ctx.Done():
		return false
	}
}

// decode decodes m, retrying while what decoding depends on is unavailable.
func (s *Session) decode(ctx context.Context, m change.Message) (change.Row, error) {
	// Nearly every message decodes at the first try; only a schema
	// registry out of reach takes the retry loop (and its closure, which
	// would put row on the heap for every message), going on from that
	// first failure rather than asking the registry again at once.
	row, err := s.p.Decoder.DecodeContext(ctx, m.Key, m.Value)
	if err == nil || !errors.Is(err, cdc.ErrUnavailable) {
		return row, err
	}
	err = s.retryAfter(ctx, "decode (schema registry)", err, func() (err error) {
		row, err = s.p.Decoder.DecodeContext(ctx, m.Key, m.Value)
		if err != nil && !errors.Is(err, cdc.ErrUnavailable) {
			return permanent{err}
		}
		return err
	})
	var perm permanent
	if errors.As(err, &perm) {
		return row, perm.err
	}
	return row, err
}

// Drain stops the session: no new request is cut, and work already out
// gets until ctx ends to finish. It returns once every stage has stopped.
func (s *Session) Drain(ctx context.Context) {
	stop := context.AfterFunc(ctx, s.stopWork)
	defer stop()
	s.stages.Wait()
	close(s.dead)
	<-s.deadDone
	s.stopWork()
	s.p.Observer.Released(s.claims)
}

// failureOf returns err's *change.Failure, or wraps err in one of class c.
func failureOf(err error, c change.Class) *change.Failure {
	var f *change.Failure
	if errors.As(err, &f) {
		return f
	}
	return &change.Failure{Class: c, Reason: err.Error()}
}

func (s *Session) finish(m change.Message) { s.fin.Finish(m.Pos) }

// finishAll finishes the messages behind entries, counting them in c.
func (s *Session) finishAll(entries []entry, c *counter) {
	c.Add(int64(len(entries)))
	for _, en := range entries {
		s.finish(en.msg)
	}
}

// settle tells the engine the users' outcomes are known, so their next
// changes may go.
func (s *Session) settle(ids ...change.Identifier) {
	if len(ids) == 0 {
		return
	}
	select {
	case s.settled <- ids:
	case <-s.engineDone:
	}
}

// requeue gives users back to the engine unsent, to be tried again after a
// pause: another process is working on them, or this one could not record
// its intent. Their messages stay unfinished meanwhile.
func (s *Session) requeue(ws ...userWork) {
	if len(ws) == 0 {
		return
	}
	select {
	case s.back <- ws:
	case <-s.engineDone:
	}
}
