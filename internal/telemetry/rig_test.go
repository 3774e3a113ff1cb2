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
	"github.com/attrsync/attrsync/internal/testenv/testapp"

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
// simulator (testenv.Stack), optionally exporting OTLP to a recording
// collector.
type rig struct {
	*testenv.Stack
	t    *testing.T
	otlp *collector
	logs *syncBuffer

	tel *telemetry.Telemetry
	sys *testapp.Sync
	srv *telemetry.Server
}

func newRig(t *testing.T, parts int, opts sim.Options) *rig {
	t.Helper()
	opts.APIKey = apiKey
	if opts.BulkUpdatePerSecond == 0 {
		opts.BulkUpdatePerSecond = 50
	}
	s := testenv.NewStack(t, parts, opts)
	s.Name = "otel"
	return &rig{Stack: s, t: t, logs: &syncBuffer{}, otlp: newCollector(t)}
}

// config is a sync of the users topic onto firstName, planTier, version
// and signedUpAt, exporting OTLP to the rig's collector; extra lines
// indented by two spaces go under iterable, the others at top level.
func (r *rig) config(extra ...string) *config.Config {
	r.t.Helper()
	c := r.Sync()
	c.Group, c.DLQTopic = "g", dlqTopic
	c.RetryMax = 300 * time.Millisecond
	c.Telemetry = fmt.Sprintf("{otlp_endpoint: %q}", r.otlp.srv.URL)
	c.Add(extra...)
	cfg, err := config.Parse([]byte(c.YAML()), testenv.Env(apiKey))
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
	tel, err := telemetry.New(context.Background(), telemetry.Config{Sync: cfg.Sync.Name, Version: "test", OTLPEndpoint: cfg.Telemetry.OTLPEndpoint, Log: log})
	if err != nil {
		r.t.Fatalf("telemetry: %v", err)
	}
	sys := testapp.Start(r.t, cfg, log, app.Options{Observer: tel, HTTPClient: tel.HTTPClient()})
	if err := tel.ObserveStats(sys.Stats); err != nil {
		r.t.Fatal(err)
	}
	srv, err := tel.Serve("127.0.0.1:0", sys)
	if err != nil {
		r.t.Fatal(err)
	}
	r.tel, r.sys, r.srv = tel, sys, srv
	r.t.Cleanup(r.close)
}

// close stops the sync, then flushes telemetry (the last OTLP export).
func (r *rig) close() {
	if r.sys == nil {
		return
	}
	r.sys.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.tel.Shutdown(ctx); err != nil {
		r.t.Errorf("telemetry shutdown: %v", err)
	}
	r.srv.Close()
	r.sys = nil
}

// waitFinished waits until the pipeline has finished n messages.
func (r *rig) waitFinished(n int64) {
	r.t.Helper()
	r.sys.WaitFinished(n)
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
