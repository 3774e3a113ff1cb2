package pipeline

import (
	"context"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
)

// deadItem is a message to dead-letter and why.
type deadItem struct {
	msg   change.Message
	f     *change.Failure
	trace []change.Header // trace context the failure was decided in
}

// maxDeadBatch bounds one write to the dead-letter topic.
const maxDeadBatch = 500

// deadLetters writes dead letters in small batches and finishes each
// message only once the dead-letter topic acknowledged it: a record is
// dead-lettered before its offset is committed. A write that keeps failing
// is retried until the drain ends; its messages then stay unfinished.
func (s *Session) deadLetters() {
	batch := make([]deadItem, 0, maxDeadBatch)
	for {
		first, ok := <-s.dead
		if !ok {
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxDeadBatch {
			select {
			case it, ok := <-s.dead:
				if !ok {
					break fill
				}
				batch = append(batch, it)
			case <-time.After(10 * time.Millisecond):
				break fill
			}
		}
		now := time.Now()
		recs := make([]change.Message, len(batch))
		for i, it := range batch {
			recs[i] = withTrace(dlq.Record(it.msg, it.f, now), it.trace)
		}
		if err := s.retry(s.work, "write dead letters", func() error { return s.p.DLQ.Write(s.work, recs) }); err != nil {
			continue // the drain ended: left unfinished, consumed again
		}
		for _, it := range batch {
			s.p.stats.dead(string(it.f.Class))
			// Reason holds no value of the message; Detail may (personal
			// data), so it stays out of logs above debug.
			s.p.Log.Warn("dead-lettered", "pos", it.msg.Pos.String(), "class", it.f.Class, "reason", it.f.Reason, "http_status", it.f.HTTPStatus)
			if it.f.Detail != "" {
				s.p.Log.Debug("dead-letter detail", "pos", it.msg.Pos.String(), "detail", it.f.Detail)
			}
			s.finish(it.msg)
		}
	}
}

// kill sends a message to the dead-letter writer.
func (s *Session) kill(ctx context.Context, m change.Message, f *change.Failure) {
	select {
	case s.dead <- deadItem{msg: m, f: f, trace: s.p.Observer.TraceHeaders(ctx)}:
	case <-s.work.Done():
	}
}
