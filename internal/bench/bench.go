// Package bench measures attrsync against the performance contract of
// SPEC §5 and prints one table in which every figure sits beside a baseline
// from the same run. It is what `make bench` runs (through ./cmd).
//
// It runs against real components: a redis-server child process
// (internal/redisserver), a Kafka-protocol broker (franz-go's kfake in this
// process, or a real broker in its own, Options.Brokers), the Iterable
// simulator (internal/sim) over loopback HTTP, and pipelines built from
// YAML as `attrsync run` builds them, in this process, except for the last
// scenario's, which is the attrsync binary itself. The scenarios, in order:
//
//   - warm-up: every user's snapshot event is decoded, mapped and written to
//     Redis through state.Store, as the pipeline would after Iterable
//     accepted it; INFO memory before and after gives bytes per user.
//   - diff path: for change rates 0, 10 and 100 %, update events on a topic
//     of their own are read first by bare kafka-go readers (the baseline),
//     then by a pipeline with a fresh consumer group against an unlimited
//     simulator; both are timed from the first message to the last.
//   - write path: a backlog of changed users drained by one, then three
//     pipelines sharing the global limiter in Redis, against the
//     simulator's enforced 5 requests/s, over a sustained window.
//   - live: events produced at a steady rate while a pipeline runs against
//     the enforced limit; source timestamp to acceptance, per event, beside
//     source timestamp to arrival at bare readers.
//   - attrsync run's memory: the binary, built without the race detector
//     and started as a child process at default settings, syncs a snapshot
//     backlog and one five times larger, each waiting in Kafka before it
//     starts; its peak RSS is read from /proc/<pid>/status.
//
// The broker and the simulator share the two cores and the memory of the
// process with the pipeline, and so do the baselines: the ratios compare
// like with like, and the notes say how busy the cores were.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// The metrics of the table, in order.
const (
	MetricDiff0    = "Diff path, 0 % change"
	MetricDiff10   = "Diff path, 10 % change"
	MetricDiff100  = "Diff path, 100 % change"
	MetricMemory   = "Redis memory per synced user"
	MetricWrite1   = "Write path, 1 instance"
	MetricWrite3   = "Write path, 3 instances, global limit"
	MetricDelayP50 = "End-to-end delay p50"
	MetricDelayP99 = "End-to-end delay p99"
	MetricPeakRSS  = "Process peak RSS (VmHWM)"
)

// memoryBudget is the Redis bytes per synced user the README's sizing
// promises.
const memoryBudget = 128

// Metrics lists every metric the table has, in order.
func Metrics() []string {
	return []string{MetricDiff0, MetricDecodeOnly, MetricDiff10, MetricDiff100, MetricDecodeAvro, MetricDecodeProtobuf, MetricMemory,
		MetricWrite1, MetricWrite3, MetricUpdateUnprimed, MetricUpdatePrimed, MetricDelayP50, MetricDelayP99, MetricPeakRSS,
		MetricRunRSS, MetricRunRSS5, MetricRunRSSRatio}
}

// Run runs every scenario and returns the table, writing a progress line
// per step to log. A failed scenario shows as ERROR in its rows and in the
// returned error; the others still run.
func Run(ctx context.Context, opts Options, log io.Writer) (*Table, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	e, err := startEnv(opts.Brokers)
	if err != nil {
		return nil, err
	}
	e.brokerPID = opts.BrokerPID
	defer e.close()
	r := &runner{ctx: ctx, e: e, opts: opts, log: log, g: newGenerator(opts.Users, opts.Seed), rows: map[string]Row{}}
	r.table.Title = fmt.Sprintf("attrsync bench: %s users, %s events per diff scenario, %d partitions, %d attributes, %s",
		thousands(int64(opts.Users)), thousands(int64(opts.Events)), opts.Partitions, attributeCount, e.brokerName())
	r.formats() // first, while the process's heap is small
	r.warmUp()
	for _, rate := range []float64{0, 0.1, 1} {
		r.diff(rate)
	}
	r.write(1, MetricWrite1)
	r.write(3, MetricWrite3)
	r.update()
	r.live()
	// The bench process's own peak is taken before the snapshot backlogs,
	// whose topics the in-process broker holds: those rows measure the
	// attrsync child process, not this one.
	r.peakRSS()
	r.runRSS()
	for _, m := range Metrics() {
		r.table.Rows = append(r.table.Rows, r.rows[m])
	}
	return &r.table, errors.Join(r.errs...)
}

// runner carries one run's state from scenario to scenario.
type runner struct {
	ctx  context.Context
	e    *env
	g    *generator
	opts Options
	log  io.Writer
	rss  rssTracker

	warm     bool  // the warm-up succeeded, so the diff path has state
	barePeak int64 // KiB, the largest peak of the bare-consume phases

	rows  map[string]Row // by metric
	table Table
	errs  []error
}

// step logs the start of a step and returns the function that logs its end.
func (r *runner) step(format string, args ...any) func() {
	name := fmt.Sprintf(format, args...)
	fmt.Fprintf(r.log, "bench: %s ...\n", name)
	start := time.Now()
	return func() {
		fmt.Fprintf(r.log, "bench: %s done in %s (VmHWM %s)\n", name, time.Since(start).Round(time.Millisecond), mib(vmHWM()))
	}
}

// fail records err and shows it in the rows of metrics.
func (r *runner) fail(err error, metrics ...string) {
	r.errs = append(r.errs, err)
	for _, m := range metrics {
		r.rows[m] = errorRow(m, err)
	}
}

func (r *runner) set(row Row) { r.rows[row.Metric] = row }
