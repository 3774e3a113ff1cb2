package telemetry

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/pipeline"
)

// Telemetry observes the pipeline.
var _ pipeline.Observer = (*Telemetry)(nil)

// Fetched records the partition's lag: messages between this one and the
// partition's end when it was fetched.
func (t *Telemetry) Fetched(_ context.Context, m change.Message) {
	t.lag.set(m.Pos.Topic, m.Pos.Partition, m.HighWaterMark-m.Pos.Offset-1)
}

// Released stops reporting the lag of partitions this process gave up.
func (t *Telemetry) Released(claims []change.Position) { t.lag.forget(claims) }

// batchSpan names the span of one bulkUpdate request with its retries.
const batchSpan = "attrsync.bulkUpdate"

// StartBatch records the request's size and starts its span, linked to the
// trace context (W3C traceparent) of every message behind it that carries
// one. The span is a root: a batch gathers many producers' traces, so it
// belongs to none of them.
func (t *Telemetry) StartBatch(ctx context.Context, b pipeline.Batch) (context.Context, func(int, error)) {
	t.inst.batchUsers.Record(ctx, int64(b.Users))
	t.inst.batchBytes.Record(ctx, int64(b.Bytes))
	links := make([]trace.Link, 0, len(b.Headers))
	seen := map[trace.SpanID]bool{}
	for _, hs := range b.Headers {
		sc := trace.SpanContextFromContext(t.prop.Extract(context.Background(), headerCarrier{hs: &hs}))
		if sc.IsValid() && !seen[sc.SpanID()] {
			seen[sc.SpanID()] = true
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	ctx, span := t.tracer.Start(ctx, batchSpan,
		trace.WithNewRoot(), trace.WithSpanKind(trace.SpanKindInternal), trace.WithLinks(links...),
		trace.WithAttributes(
			attribute.Int("attrsync.batch.users", b.Users),
			attribute.Int("attrsync.batch.bytes", b.Bytes),
		))
	return ctx, func(attempts int, err error) {
		span.SetAttributes(attribute.Int("attrsync.batch.attempts", attempts))
		if err != nil {
			// Error texts of Iterable failures name no user and no key.
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}
}

// Accepted records how long the change took from its source to Iterable.
func (t *Telemetry) Accepted(ctx context.Context, eventTime time.Time) {
	if eventTime.IsZero() {
		return
	}
	t.inst.deliveryDelay.Record(ctx, max(time.Since(eventTime).Seconds(), 0))
}

// LimiterWaited records one rate-limiter wait.
func (t *Telemetry) LimiterWaited(ctx context.Context, endpoint string, d time.Duration) {
	t.inst.limiterWait.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String("endpoint", endpoint)))
}

// TraceHeaders returns ctx's trace context as Kafka headers (traceparent,
// and tracestate when there is one).
func (t *Telemetry) TraceHeaders(ctx context.Context) []change.Header {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	var hs []change.Header
	t.prop.Inject(ctx, headerCarrier{hs: &hs})
	return hs
}
