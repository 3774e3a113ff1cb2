package pipeline

import (
	"context"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// Observer is told what the pipeline does at the few moments that counters
// in Stats cannot describe, so that metrics and traces can follow it
// (internal/telemetry implements it). It is called on hot paths: methods
// must be fast and safe for concurrent use. Nothing passed to it is an API
// key; identifiers never are either.
type Observer interface {
	// Fetched is called for every message read from Kafka, before decoding.
	Fetched(ctx context.Context, m change.Message)
	// Released is called when this process stops working on partitions (at
	// the positions where its work on them began): a rebalance revoked
	// them, a replay ended, or the process stops.
	Released(claims []change.Position)
	// StartBatch is called when a bulkUpdate request is cut. The returned
	// context carries the batch's trace to the HTTP requests made for it;
	// end is called once with the request's outcome after every attempt.
	StartBatch(ctx context.Context, b Batch) (bctx context.Context, end func(attempts int, err error))
	// Accepted is called for each message whose user Iterable accepted and
	// whose state was saved, with the time the change happened at the source.
	Accepted(ctx context.Context, eventTime time.Time)
	// LimiterWaited is called after each rate-limiter wait for endpoint.
	LimiterWaited(ctx context.Context, endpoint string, d time.Duration)
	// TraceHeaders returns Kafka headers carrying ctx's trace context (W3C
	// traceparent), written onto dead-letter records; nil when ctx has none.
	TraceHeaders(ctx context.Context) []change.Header
}

// Batch describes one bulkUpdate request when it is cut.
type Batch struct {
	Users int
	Bytes int
	// Headers are the Kafka headers of every message behind the request, so
	// that its trace can link to the traces that produced those messages.
	Headers [][]change.Header
}

// nopObserver is the Observer of a pipeline built without one.
type nopObserver struct{}

func (nopObserver) Fetched(context.Context, change.Message) {}
func (nopObserver) Released([]change.Position)              {}
func (nopObserver) StartBatch(ctx context.Context, _ Batch) (context.Context, func(int, error)) {
	return ctx, func(int, error) {}
}
func (nopObserver) Accepted(context.Context, time.Time)                  {}
func (nopObserver) LimiterWaited(context.Context, string, time.Duration) {}
func (nopObserver) TraceHeaders(context.Context) []change.Header         { return nil }

// batchOf describes the request items make. size is the sender's estimate,
// which counts a separating comma for every user: the body has one fewer.
func batchOf(items []*sendItem, size int) Batch {
	b := Batch{Users: len(items), Bytes: size - 1}
	for _, it := range items {
		for _, en := range it.w.entries {
			if len(en.msg.Headers) > 0 {
				b.Headers = append(b.Headers, en.msg.Headers)
			}
		}
	}
	return b
}

// eventTime is when a change happened at the source: the CDC event's own
// timestamp, else the Kafka record's.
func eventTime(en entry) time.Time {
	if !en.ch.SourceTime.IsZero() {
		return en.ch.SourceTime
	}
	return en.msg.Time
}

// withTrace replaces the trace headers of a dead-letter record by trace,
// the context in which the failure was decided. Without one, the record
// keeps the original message's trace headers.
func withTrace(rec change.Message, trace []change.Header) change.Message {
	if len(trace) == 0 {
		return rec
	}
	replaced := make(map[string]bool, len(trace))
	for _, h := range trace {
		replaced[h.Key] = true
	}
	hs := rec.Headers[:0:0]
	for _, h := range rec.Headers {
		if !replaced[h.Key] {
			hs = append(hs, h)
		}
	}
	rec.Headers = append(hs, trace...)
	return rec
}
