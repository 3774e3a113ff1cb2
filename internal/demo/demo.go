// Package demo runs the whole attrsync pipeline in one process with no
// setup: an embedded Kafka-protocol broker (franz-go's kfake), an embedded
// Redis-protocol server (miniredis), the Iterable simulator, and a generated
// Debezium stream. It is what `attrsync demo` and `make demo` run.
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
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/sim"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Options shape a demo run.
type Options struct {
	Users      int
	Events     int // including the first event of every user
	ChangeRate float64
	Mode       string // upsert | update
	Partitions int
	Seed       uint64
}

// DefaultOptions finish in well under a minute on two cores.
func DefaultOptions() Options {
	return Options{Users: 5000, Events: 50000, ChangeRate: 0.3, Mode: config.ModeUpsert, Partitions: 6, Seed: 1}
}

// Summary is what a demo run did.
type Summary struct {
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
	if opts.Users <= 0 || opts.Events < opts.Users || opts.ChangeRate < 0 || opts.ChangeRate > 1 {
		return Summary{}, errors.New("demo: need users > 0, events >= users and 0 <= change rate <= 1")
	}
	if opts.Mode != config.ModeUpsert && opts.Mode != config.ModeUpdate {
		return Summary{}, fmt.Errorf("demo: mode must be upsert or update, not %q", opts.Mode)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(opts.Partitions), topic), kfake.AllowAutoTopicCreation())
	if err != nil {
		return Summary{}, fmt.Errorf("demo: start Kafka-protocol broker: %w", err)
	}
	defer cluster.Close()
	rds, err := miniredis.Run()
	if err != nil {
		return Summary{}, fmt.Errorf("demo: start Redis-protocol server: %w", err)
	}
	defer rds.Close()
	iter := sim.New(sim.Options{APIKey: apiKey, DiscardBodies: true})
	srv, iterURL, err := serve(iter)
	if err != nil {
		return Summary{}, err
	}
	defer srv.Close()

	gen := newGenerator(opts.Users, opts.ChangeRate, opts.Seed)
	if opts.Mode == config.ModeUpdate {
		// Half of the users already exist in Iterable; update mode must
		// leave the other half alone.
		for i := 0; i < opts.Users; i += 2 {
			if err := iter.SeedUser(email(i), "", map[string]any{"firstName": "seeded"}); err != nil {
				return Summary{}, err
			}
		}
	}
	fmt.Fprintf(out, "attrsync demo: %d users, %d events, %.0f%% of updates change a mapped column, mode %s\n",
		opts.Users, opts.Events, 100*opts.ChangeRate, opts.Mode)
	if err := produce(ctx, cluster.ListenAddrs(), gen, opts.Events); err != nil {
		return Summary{}, err
	}
	cfg, err := demoConfig(cluster.ListenAddrs()[0], "redis://"+rds.Addr()+"/0", iterURL, opts.Mode)
	if err != nil {
		return Summary{}, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	started := time.Now()
	sync, err := app.Build(ctx, cfg, log, app.Options{})
	if err != nil {
		return Summary{}, err
	}
	defer sync.Close()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- sync.Run(runCtx) }()
	waitErr := progress(ctx, out, sync.Stats, int64(opts.Events), started)
	stop()
	if err := <-done; err != nil {
		return Summary{}, err
	}
	if waitErr != nil {
		return Summary{}, waitErr
	}
	return summarize(sync.Stats(), iter, time.Since(started)), nil
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

func produce(ctx context.Context, brokers []string, gen *generator, events int) error {
	w := &kafkago.Writer{
		Addr: kafkago.TCP(brokers...), Topic: topic, Balancer: &kafkago.Hash{},
		BatchSize: 5000, BatchTimeout: 5 * time.Millisecond, RequiredAcks: kafkago.RequireOne,
	}
	defer w.Close()
	const chunk = 5000
	batch := make([]kafkago.Message, 0, chunk)
	for n := range events {
		m := gen.next(n)
		batch = append(batch, kafkago.Message{Key: m.Key, Value: m.Value})
		if len(batch) == chunk || n == events-1 {
			if err := w.WriteMessages(ctx, batch...); err != nil {
				return fmt.Errorf("demo: produce: %w", err)
			}
			batch = batch[:0]
		}
	}
	return nil
}

func demoConfig(broker, redisURL, iterURL, mode string) (*config.Config, error) {
	yaml := fmt.Sprintf(`
sync: {name: demo}
kafka: {brokers: [%q], topics: [%q]}
source: {format: debezium}
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
    - {from: signup_at, to: signedUpAt, type: date}
batch: {max_users: 1000, max_wait: 200ms}
rate_limit: {scope: local}
`, broker, topic, redisURL, iterURL, apiKey, mode)
	return config.Parse([]byte(yaml), func(string) (string, bool) { return "", false })
}
