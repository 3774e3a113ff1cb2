// Package demo runs the whole attrsync pipeline in one process with no
// setup: an embedded Kafka-protocol broker (franz-go's kfake), an embedded
// Redis-protocol server (miniredis), the Iterable simulator, and a generated
// Debezium stream written as JSON, Avro or Protobuf (the binary formats with
// an embedded schema registry, franz-go's srfake). It is what
// `attrsync demo` and `make demo` run.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/sim"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// Options shape a demo run.
type Options struct {
	Users      int
	Events     int // including the first event of every user
	ChangeRate float64
	Mode       config.Mode
	Partitions int
	Seed       uint64
	// Format is how the stream is written: FormatJSON, FormatAvro or
	// FormatProtobuf; empty means FormatJSON.
	Format string
}

// The formats the demo writes its stream in.
const (
	// FormatJSON is Kafka Connect's JsonConverter with schemas, which
	// attrsync reads as source.format debezium.
	FormatJSON = "json"
	// FormatAvro and FormatProtobuf are Confluent's Avro and Protobuf
	// converters, in the Confluent wire format, with their schemas in an
	// embedded schema registry.
	FormatAvro     = "avro"
	FormatProtobuf = "protobuf"
)

// DefaultOptions finish in well under a minute on two cores.
func DefaultOptions() Options {
	return Options{Users: 5000, Events: 50000, ChangeRate: 0.3, Mode: config.ModeUpsert, Partitions: 6, Seed: 1, Format: FormatJSON}
}

// Summary is what a demo run did.
type Summary struct {
	Format                                              string // the stream's format, and what carried it
	Events, Requests, Lookups, DeadLetters, RateLimited int64
	UsersCreated, UsersUpdated, UsersSkipped            int64
	AttrsSent, Unchanged, Stale                         int64
	Profiles                                            int
	Elapsed                                             time.Duration
}

const (
	topic  = "app.public.users"
	apiKey = "demo-api-key"
)

// Run runs the demo, printing progress to out, and returns its summary.
func Run(ctx context.Context, opts Options, out io.Writer) (Summary, error) {
	sum, _, err := run(ctx, opts, out)
	return sum, err
}

// run is Run, also returning the simulator so tests can read Iterable's
// end state.
func run(ctx context.Context, opts Options, out io.Writer) (Summary, *sim.Server, error) {
	if opts.Format == "" {
		opts.Format = FormatJSON
	}
	if opts.Users <= 0 || opts.Events < opts.Users || opts.ChangeRate < 0 || opts.ChangeRate > 1 {
		return Summary{}, nil, errors.New("demo: need users > 0, events >= users and 0 <= change rate <= 1")
	}
	if opts.Mode != config.ModeUpsert && opts.Mode != config.ModeUpdate {
		return Summary{}, nil, fmt.Errorf("demo: mode must be upsert or update, not %q", opts.Mode)
	}
	src, err := newSource(opts.Format)
	if err != nil {
		return Summary{}, nil, err
	}
	defer src.close()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(opts.Partitions), topic), kfake.AllowAutoTopicCreation())
	if err != nil {
		return Summary{}, nil, fmt.Errorf("demo: start Kafka-protocol broker: %w", err)
	}
	defer cluster.Close()
	rds, err := miniredis.Run()
	if err != nil {
		return Summary{}, nil, fmt.Errorf("demo: start Redis-protocol server: %w", err)
	}
	defer rds.Close()
	iter := sim.New(sim.Options{APIKey: apiKey, DiscardBodies: true})
	srv, iterURL, err := serve(iter)
	if err != nil {
		return Summary{}, nil, err
	}
	defer srv.Close()

	gen := newGenerator(opts.Users, opts.ChangeRate, opts.Seed)
	if opts.Mode == config.ModeUpdate {
		// Half of the users already exist in Iterable; update mode must
		// leave the other half alone.
		for i := 0; i < opts.Users; i += 2 {
			if err := iter.SeedUser(email(i), "", map[string]any{"firstName": "seeded"}); err != nil {
				return Summary{}, nil, err
			}
		}
	}
	fmt.Fprintf(out, "attrsync demo: %d users, %d events in %s, %.0f%% of updates change a mapped column, mode %s\n",
		opts.Users, opts.Events, describeFormat(opts.Format), 100*opts.ChangeRate, opts.Mode)
	if err := produce(ctx, cluster.ListenAddrs(), gen, src.writer, opts.Events); err != nil {
		return Summary{}, nil, err
	}
	cfg, err := demoConfig(cluster.ListenAddrs()[0], "redis://"+rds.Addr()+"/0", iterURL, opts.Mode, src.yaml)
	if err != nil {
		return Summary{}, nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	started := time.Now()
	sync, err := app.Build(ctx, cfg, log, app.Options{})
	if err != nil {
		return Summary{}, nil, err
	}
	defer sync.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sync.Run(runCtx) }()
	waitErr := progress(ctx, out, sync.Stats, int64(opts.Events), started)
	stop()
	if err := <-done; err != nil {
		return Summary{}, nil, err
	}
	if waitErr != nil {
		return Summary{}, nil, waitErr
	}
	sum := summarize(sync.Stats(), iter, time.Since(started))
	sum.Format = describeFormat(opts.Format)
	return sum, iter, nil
}

// progress prints a line a second until every event is finished.
func progress(ctx context.Context, out io.Writer, stats func() pipeline.Snapshot, events int64, started time.Time) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for stats().Finished() < events {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			st := stats()
			fmt.Fprintf(out, "  %5.1fs  %7d/%d events  %5d requests  %7d attributes sent\n",
				time.Since(started).Seconds(), st.Finished(), events, st.Requests, st.AttrsSent)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func summarize(st pipeline.Snapshot, iter *sim.Server, elapsed time.Duration) Summary {
	is := iter.Stats()
	return Summary{
		Events: st.Consumed, Requests: st.Requests, Lookups: st.Lookups,
		DeadLetters: st.DeadLettered, RateLimited: int64(is.TooManyRequests),
		UsersCreated: int64(is.UsersCreated), UsersUpdated: int64(is.UsersUpdated), UsersSkipped: st.UsersAbsent,
		AttrsSent: st.AttrsSent, Unchanged: st.Unchanged, Stale: st.Stale,
		Profiles: is.Profiles, Elapsed: elapsed,
	}
}

// Print writes the summary as a table.
func (s Summary) Print(w io.Writer) {
	rows := []struct {
		k string
		v any
	}{
		{"format", s.Format},
		{"events consumed", s.Events},
		{"events unchanged (nothing sent)", s.Unchanged},
		{"users created in Iterable", s.UsersCreated},
		{"users updated in Iterable", s.UsersUpdated},
		{"users skipped (update mode: not in Iterable)", s.UsersSkipped},
		{"attributes sent", s.AttrsSent},
		{"bulkUpdate requests", s.Requests},
		{"user lookups", s.Lookups},
		{"429 answers", s.RateLimited},
		{"dead letters", s.DeadLetters},
		{"profiles in Iterable", s.Profiles},
		{"elapsed", s.Elapsed.Round(time.Millisecond)},
		{"events per second", int64(float64(s.Events) / s.Elapsed.Seconds())},
	}
	fmt.Fprintln(w, "\n  summary")
	for _, r := range rows {
		fmt.Fprintf(w, "  %-46s %v\n", r.k, r.v)
	}
}

func serve(h http.Handler) (*http.Server, string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("demo: listen: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return srv, "http://" + l.Addr().String(), nil
}

// source is where the demo's stream is written: the writer of its format
// and, for the binary formats, the embedded schema registry.
type source struct {
	writer cdctest.Writer
	yaml   string // the config's source section
	close  func()
}

// newSource sets up format. The binary formats get a schema registry of
// their own on loopback, which the sync reads over HTTP as it would a real
// one.
func newSource(format string) (source, error) {
	switch format {
	case FormatJSON:
		return source{writer: cdctest.JSON{}, yaml: "{format: debezium}", close: func() {}}, nil
	case FormatAvro, FormatProtobuf:
	default:
		return source{}, fmt.Errorf("demo: format must be json, avro or protobuf, not %q", format)
	}
	reg := srfake.NewRegistry()
	srv, url, err := serve(reg.Handler())
	if err != nil {
		return source{}, err
	}
	src := source{
		writer: cdctest.NewAvro(reg),
		yaml:   fmt.Sprintf("{format: %s, schema_registry: {url: %q}}", format, url),
		close:  func() { srv.Close() },
	}
	if format == FormatProtobuf {
		src.writer = cdctest.NewProtobuf(reg)
	}
	return src, nil
}

// describeFormat says what carried the stream, for the summary.
func describeFormat(format string) string {
	switch format {
	case FormatJSON:
		return "json (JsonConverter with schemas)"
	case FormatAvro, FormatProtobuf:
		return format + " (Confluent wire format, embedded schema registry)"
	}
	return format
}

func produce(ctx context.Context, brokers []string, gen *generator, writer cdctest.Writer, events int) error {
	w := &kafkago.Writer{
		Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.Hash{},
		BatchSize: 5000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireOne,
	}
	defer w.Close()
	const chunk = 5000
	batch := make([]kafkago.Message, 0, chunk)
	table := usersTable()
	for n := range events {
		key, value, err := writer.Event(table, gen.next(n))
		if err != nil {
			return fmt.Errorf("demo: write event: %w", err)
		}
		batch = append(batch, kafkago.Message{Key: key, Value: value})
		if len(batch) == chunk || n == events-1 {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				return fmt.Errorf("demo: produce: %w", err)
			}
			batch = batch[:0]
		}
	}
	return nil
}

// demoConfig is the demo's sync. signedUpAt has unit us for the Protobuf
// converter, which drops Debezium's MicroTimestamp name; the JSON and Avro
// converters keep it, and then the name decides and the unit is not used.
func demoConfig(broker, redisURL, iterURL string, mode config.Mode, sourceYAML string) (*config.Config, error) {
	yaml := fmt.Sprintf(`
sync: {name: demo}
kafka: {brokers: [%q], topics: [%q]}
source: %s
redis: {url: %q}
iterable:
  base_url: %q
  api_key: %s
  mode: %s
  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: city, to: city}
    - {from: plan, to: planTier}
    - {from: seats, to: seats, type: number}
    - {from: active, to: active, type: boolean}
    - {from: version, to: version, type: number}
    - {from: signup_at, to: signedUpAt, type: date, unit: us}
batch: {max_users: 1000, max_wait: 200ms}
rate_limit: {scope: local}
`, broker, topic, sourceYAML, redisURL, iterURL, apiKey, mode)
	return config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
}
