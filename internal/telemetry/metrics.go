package telemetry

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/attrsync/attrsync/internal/change"
)

// instruments are the synchronous instruments the Observer records into.
// The counters that pipeline.Stats keeps are observed asynchronously
// (stats.go).
type instruments struct {
	requests      metric.Int64Counter
	requestTime   metric.Float64Histogram
	limiterWait   metric.Float64Histogram
	batchUsers    metric.Int64Histogram
	batchBytes    metric.Int64Histogram
	deliveryDelay metric.Float64Histogram
}

// newInstruments creates the instruments on m. Histogram boundaries are
// chosen per histogram: OTel's defaults suit milliseconds, not seconds.
func newInstruments(m metric.Meter, lag *lagGauge) (*instruments, error) {
	var in instruments
	var errs [7]error
	in.requests, errs[0] = m.Int64Counter("attrsync.iterable.requests",
		metric.WithUnit("{request}"),
		metric.WithDescription("HTTP requests to Iterable by endpoint and status (\"error\": no answer)."))
	in.requestTime, errs[1] = m.Float64Histogram("attrsync.iterable.request.duration",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries([]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}...),
		metric.WithDescription("Time from sending a request to Iterable to its response headers."))
	in.limiterWait, errs[2] = m.Float64Histogram("attrsync.ratelimit.wait",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries([]float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}...),
		metric.WithDescription("Time a request waited for the rate limiter, by endpoint."))
	in.batchUsers, errs[3] = m.Int64Histogram("attrsync.batch.users",
		metric.WithUnit("{user}"), metric.WithExplicitBucketBoundaries([]float64{1, 5, 10, 25, 50, 100, 250, 500, 750, 1000}...),
		metric.WithDescription("Users per bulkUpdate request."))
	in.batchBytes, errs[4] = m.Int64Histogram("attrsync.batch.bytes",
		metric.WithUnit("By"), metric.WithExplicitBucketBoundaries([]float64{1e3, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2e6, 3e6, 4e6}...),
		metric.WithDescription("Body size of bulkUpdate requests."))
	in.deliveryDelay, errs[5] = m.Float64Histogram("attrsync.delivery.delay",
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries([]float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400}...),
		metric.WithDescription("Time from a change at the source to Iterable accepting it."))
	_, errs[6] = m.Int64ObservableGauge("attrsync.consumer.lag",
		metric.WithUnit("{message}"),
		metric.WithDescription("Messages behind the partition's end when last fetched, by topic and partition."),
		metric.WithInt64Callback(lag.observe))
	for _, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("telemetry: create instrument: %w", err)
		}
	}
	return &in, nil
}

// partition identifies a topic partition in the lag gauge.
type partition struct {
	topic string
	part  int
}

// lagGauge holds each owned partition's lag as of its last fetched message.
type lagGauge struct {
	mu  sync.Mutex
	lag map[partition]int64
}

func newLagGauge() *lagGauge { return &lagGauge{lag: map[partition]int64{}} }

func (g *lagGauge) set(topic string, part int, lag int64) {
	g.mu.Lock()
	g.lag[partition{topic, part}] = max(lag, 0)
	g.mu.Unlock()
}

// forget stops reporting partitions this process no longer owns: their new
// owner reports them.
func (g *lagGauge) forget(claims []change.Position) {
	g.mu.Lock()
	for _, c := range claims {
		delete(g.lag, partition{c.Topic, c.Partition})
	}
	g.mu.Unlock()
}

func (g *lagGauge) observe(_ context.Context, o metric.Int64Observer) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for p, lag := range g.lag {
		o.Observe(lag, metric.WithAttributes(
			attribute.String("topic", p.topic), attribute.String("partition", strconv.Itoa(p.part))))
	}
	return nil
}
