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

// deadLetters writes dead letters in small batches and finishes each
// message only once the dead-letter topic acknowledged it: a record is
// dead-lettered before its offset is committed.
func (s *session) deadLetters(ctx context.Context) {
	const maxBatch = 500
	batch := make([]deadItem, 0, maxBatch)
	for {
		first, ok := <-s.dead
		if !ok {
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
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
		err := s.retry(ctx, "write dead letters", func() error {
			if s.p.dryRun {
				return nil // logged below, never written
			}
			return s.p.dlq.Write(ctx, recs)
		})
		if err != nil {
			continue // drain ended: left uncommitted, consumed again
		}
		for _, it := range batch {
			s.p.stats.dead(string(it.f.Class))
			s.p.log.Warn("dead-lettered", "pos", it.msg.Pos.String(), "class", it.f.Class, "reason", it.f.Reason)
			s.offsets.Done(it.msg.Pos.Topic, it.msg.Pos.Partition, it.msg.Pos.Offset)
		}
	}
}

// kill sends a message to the dead-letter writer.
func (s *session) kill(ctx context.Context, m change.Message, f *change.Failure) {
	select {
	case s.dead <- deadItem{msg: m, f: f, trace: s.p.obs.TraceHeaders(ctx)}:
	case <-ctx.Done():
	}
}
