package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

const (
	topic    = "app.public.users"
	dlqTopic = "attrsync.itest.dlq"
	apiKey   = "itest-0123456789abcdef"
)

// env is one sync's surroundings: a broker, a redis-server, and Iterable.
type env struct {
	t     *testing.T
	kafka *testenv.Kafka
	redis *testenv.Redis
	sim   *sim.Server
	iter  *httptest.Server
	parts int
	// log, when set, receives the logs of pipelines started afterwards.
	log *slog.Logger
}

func newEnv(t *testing.T, parts int, opts sim.Options) *env {
	t.Helper()
	opts.APIKey = apiKey
	if opts.BulkUpdatePerSecond == 0 {
		opts.BulkUpdatePerSecond = 50 // fast tests; the 5/s limit has its own tests
	}
	if opts.VersionField == "" {
		opts.VersionField = "version"
	}
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{
		t: t, kafka: testenv.StartKafka(t, parts, topic), redis: testenv.StartRedis(t),
		sim: s, iter: srv, parts: parts,
	}
}

// config is a sync of the users topic onto firstName, planTier and version,
// with extra YAML lines appended under iterable (indented by 2) or at top
// level (not indented).
func (e *env) config(group string, extra ...string) *config.Config {
	e.t.Helper()
	var iterExtra, topExtra []string
	for _, x := range extra {
		if strings.HasPrefix(x, "  ") {
			iterExtra = append(iterExtra, x)
		} else {
			topExtra = append(topExtra, x)
		}
	}
	// Top-level defaults, each replaced by an extra line for the same key.
	for _, def := range []string{
		"batch: {max_users: 50, max_wait: 20ms}",
		"rate_limit: {bulk_update_per_second: 40, lookup_per_second: 100, scope: local}",
		"retry: {initial_interval: 20ms, max_interval: 500ms}",
		"shutdown_grace: 10s",
	} {
		key := def[:strings.Index(def, ":")+1]
		if !slices.ContainsFunc(topExtra, func(x string) bool { return strings.HasPrefix(x, key) }) {
			topExtra = append(topExtra, def)
		}
	}
	yaml := fmt.Sprintf(`
sync: {name: itest}
kafka:
  brokers: [%q]
  topics: [%q]
  group_id: %q
  session_timeout: 6s
  heartbeat_interval: 1s
redis: {url: %q}
iterable:
  base_url: %q
  api_key: ${KEY}
`+testenv.StreamMapping+`%s
dlq: {topic: %q}
%s
`, e.kafka.Brokers[0], topic, group, e.redis.URL, e.iter.URL, strings.Join(iterExtra, "\n"), dlqTopic, strings.Join(topExtra, "\n"))
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) {
		if k == "KEY" {
			return apiKey, true
		}
		return "", false
	})
	if err != nil {
		e.t.Fatalf("config: %v", err)
	}
	return cfg
}

// running is a pipeline consuming in the background.
type running struct {
	sys  *app.App
	stop context.CancelFunc
	done chan error
}

func (e *env) start(cfg *config.Config) *running {
	e.t.Helper()
	return e.startWith(cfg, app.Options{})
}

func (e *env) startWith(cfg *config.Config, opts app.Options) *running {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := e.log
	if log == nil {
		log = testLogger()
	}
	sys, err := app.Build(ctx, cfg, log, opts)
	if err != nil {
		cancel()
		e.t.Fatalf("build: %v", err)
	}
	r := &running{sys: sys, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- sys.Run(ctx) }()
	e.t.Cleanup(func() { r.close(e.t) })
	return r
}

// close stops the pipeline (draining and committing) and waits for it.
func (r *running) close(t *testing.T) {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("consume: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("pipeline did not stop within 30s")
	}
	r.sys.Close()
}

// waitFinished waits until the pipeline has finished n messages.
func (r *running) waitFinished(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if r.sys.Stats().Finished() >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	st := r.sys.Stats()
	t.Fatalf("finished %d of %d messages (consumed %d, accepted %d, unchanged %d, stale %d, dead %d)",
		st.Finished(), n, st.Consumed, st.Accepted, st.Unchanged, st.Stale, st.DeadLettered)
}

// waitCommitted waits until the group's committed offsets reach the ends.
func (e *env) waitCommitted(group string) {
	e.t.Helper()
	end := e.kafka.EndOffsets(topic, e.parts)
	deadline := time.Now().Add(30 * time.Second)
	var got map[int]int64
	for time.Now().Before(deadline) {
		got = e.kafka.Committed(group, topic, e.parts)
		ok := true
		for p, off := range end {
			if off > 0 && got[p] != off {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("committed offsets %v, want end offsets %v", got, end)
}

func testLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
