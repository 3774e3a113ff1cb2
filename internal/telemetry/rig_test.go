package telemetry_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/telemetry"
	"github.com/attrsync/attrsync/internal/testenv"
)

const (
	topic    = "app.public.users"
	dlqTopic = "attrsync.otel.dlq"
	apiKey   = "otel-test-key-5f1e0c9a77d24b3c"
)

// rig is one sync with telemetry, against kfake, a redis-server and the
// simulator, optionally exporting OTLP to a recording collector.
type rig struct {
	t     *testing.T
	kafka *testenv.Kafka
	redis *testenv.Redis
	sim   *sim.Server
	iter  *httptest.Server
	otlp  *collector
	parts int
	logs  *syncBuffer

	tel  *telemetry.Telemetry
	sys  *app.App
	srv  *telemetry.Server
	stop context.CancelFunc
	done chan error
}

func newRig(t *testing.T, parts int, opts sim.Options) *rig {
	t.Helper()
	opts.APIKey = apiKey
	if opts.BulkUpdatePerSecond == 0 {
		opts.BulkUpdatePerSecond = 50
	}
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &rig{
		t: t, kafka: testenv.StartKafka(t, parts, topic), redis: testenv.StartRedis(t),
		sim: s, iter: srv, parts: parts, logs: &syncBuffer{}, otlp: newCollector(t),
	}
}

// config is a sync of the users topic onto firstName, planTier, version
// and signedUpAt; extra lines indented by two spaces go under iterable,
// the others at top level.
func (r *rig) config(extra ...string) *config.Config {
	r.t.Helper()
	var iterExtra, topExtra []string
	for _, x := range extra {
		if strings.HasPrefix(x, "  ") {
			iterExtra = append(iterExtra, x)
		} else {
			topExtra = append(topExtra, x)
		}
	}
	yaml := fmt.Sprintf(`
sync: {name: otel}
kafka: {brokers: [%q], topics: [%q], group_id: g, session_timeout: 6s, heartbeat_interval: 1s}
redis: {url: %q}
iterable:
  base_url: %q
  api_key: ${KEY}
`+testenv.StreamMapping+`%s
batch: {max_users: 50, max_wait: 20ms}
rate_limit: {bulk_update_per_second: 40, lookup_per_second: 100, scope: local}
retry: {initial_interval: 20ms, max_interval: 300ms}
dlq: {topic: %q}
telemetry: {otlp_endpoint: %q}
%s
`, r.kafka.Brokers[0], topic, r.redis.URL, r.iter.URL, strings.Join(iterExtra, "\n"), dlqTopic, r.otlp.srv.URL, strings.Join(topExtra, "\n"))
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) {
		if k == "KEY" {
			return apiKey, true
		}
		return "", false
	})
	if err != nil {
		r.t.Fatalf("config: %v", err)
	}
	return cfg
}

// start wires the sync as `attrsync run` does, logging at info level into
// r.logs, and serves telemetry on a free port.
func (r *rig) start(cfg *config.Config) {
	r.t.Helper()
	log := slog.New(slog.NewJSONHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	tel, err := telemetry.New(ctx, telemetry.Config{Sync: cfg.Sync.Name, Version: "test", OTLPEndpoint: cfg.Telemetry.OTLPEndpoint, Log: log})
	if err != nil {
		cancel()
		r.t.Fatalf("telemetry: %v", err)
	}
	sys, err := app.Build(ctx, cfg, log, app.Options{Observer: tel, HTTPClient: tel.HTTPClient()})
	if err != nil {
		cancel()
		r.t.Fatalf("build: %v", err)
	}
	if err := tel.ObserveStats(sys.Stats); err != nil {
		r.t.Fatal(err)
	}
	srv, err := tel.Serve("127.0.0.1:0", sys)
	if err != nil {
		r.t.Fatal(err)
	}
	r.tel, r.sys, r.srv, r.stop, r.done = tel, sys, srv, cancel, make(chan error, 1)
	go func() { r.done <- sys.Run(ctx) }()
	r.t.Cleanup(r.close)
}

// close stops the sync, then flushes telemetry (the last OTLP export).
func (r *rig) close() {
	if r.stop == nil {
		return
	}
	r.stop()
	r.stop = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("consume: %v", err)
		}
	case <-time.After(30 * time.Second):
		r.t.Error("pipeline did not stop within 30s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.tel.Shutdown(ctx); err != nil {
		r.t.Errorf("telemetry shutdown: %v", err)
	}
	r.srv.Close()
	r.sys.Close()
}

// waitFinished waits until the pipeline has finished n messages.
func (r *rig) waitFinished(n int64) {
	r.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for r.sys.Stats().Finished() < n {
		if time.Now().After(deadline) {
			st := r.sys.Stats()
			r.t.Fatalf("finished %d of %d messages (consumed %d)", st.Finished(), n, st.Consumed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get fetches a telemetry endpoint and returns its status and body.
func (r *rig) get(path string) (int, string) {
	r.t.Helper()
	resp, err := http.Get("http://" + r.srv.Addr().String() + path)
	if err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// sample is one line of a Prometheus text exposition.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// scrape reads /metrics.
func (r *rig) scrape() scrape {
	r.t.Helper()
	code, body := r.get("/metrics")
	if code != http.StatusOK {
		r.t.Fatalf("/metrics: %d", code)
	}
	return parseScrape(r.t, body)
}

// scrape is a parsed /metrics answer.
type scrape struct {
	raw     string
	samples []sample
}

func parseScrape(t *testing.T, body string) scrape {
	t.Helper()
	s := scrape{raw: body}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unparsable /metrics line %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("/metrics line %q: %v", line, err)
		}
		labels := map[string]string{}
		for _, lp := range labelPair.FindAllStringSubmatch(m[2], -1) {
			labels[lp[1]] = lp[2]
		}
		s.samples = append(s.samples, sample{name: m[1], labels: labels, value: v})
	}
	return s
}

// sum adds the samples named name whose labels include want.
func (s scrape) sum(name string, want map[string]string) float64 {
	total := 0.0
	for _, smp := range s.samples {
		if smp.name != name {
			continue
		}
		ok := true
		for k, v := range want {
			if smp.labels[k] != v {
				ok = false
			}
		}
		if ok {
			total += smp.value
		}
	}
	return total
}

// has reports whether any sample is named name.
func (s scrape) has(name string) bool {
	for _, smp := range s.samples {
		if smp.name == name {
			return true
		}
	}
	return false
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (the logger).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// collector records what OTLP exporters post to it.
type collector struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies map[string][][]byte // by URL path
}

func newCollector(t *testing.T) *collector {
	c := &collector{bodies: map[string][][]byte{}}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.bodies[r.URL.Path] = append(c.bodies[r.URL.Path], b)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// posted returns the bodies posted to path.
func (c *collector) posted(path string) [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies[path]...)
}
