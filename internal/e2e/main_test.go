package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// binary is the attrsync executable built once for the package's tests.
var binary string

func TestMain(m *testing.M) { testenv.RunWithAttrsync(m, &binary) }

const (
	topic  = "app.public.users"
	apiKey = "e2e-key-0123456789"
)

type env struct {
	t     *testing.T
	kafka *testenv.Kafka
	redis *testenv.Redis
	sim   *sim.Server
	url   string
	dir   string
}

func newEnv(t *testing.T, parts int, opts sim.Options) *env {
	t.Helper()
	opts.APIKey = apiKey
	opts.VersionField = "version"
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return &env{t: t, kafka: testenv.StartKafka(t, parts, topic), redis: testenv.StartRedis(t), sim: s, url: srv.URL, dir: t.TempDir()}
}

// writeConfig writes a sync config and returns its path. The API key comes
// from the environment, as in production.
func (e *env) writeConfig(group string, bulkPerSecond int, maxUsers int) string {
	e.t.Helper()
	cfg := fmt.Sprintf(`sync: {name: e2e}
kafka:
  brokers: [%q]
  topics: [%q]
  group_id: %s
  session_timeout: 6s
  heartbeat_interval: 1s
redis: {url: %q}
iterable:
  base_url: %q
  api_key: ${ITERABLE_API_KEY}
`+testenv.StreamMapping+`batch: {max_users: %d, max_wait: 50ms}
rate_limit: {bulk_update_per_second: %d}
retry: {initial_interval: 50ms, max_interval: 1s}
shutdown_grace: 10s
telemetry: {listen: "127.0.0.1:0", log_level: debug}
`, e.kafka.Brokers[0], topic, group, e.redis.URL, e.url, maxUsers, bulkPerSecond)
	path := filepath.Join(e.dir, group+".yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return path
}

// startProc starts the attrsync binary with the API key in its
// environment, as a deployment would pass it.
func (e *env) startProc(args ...string) *testenv.Proc {
	e.t.Helper()
	return testenv.StartProc(e.t, binary, e.dir, []string{"ITERABLE_API_KEY=" + apiKey}, args...)
}

// stopWithin is how long a SIGTERMed process may take to drain and exit.
const stopWithin = 30 * time.Second

// caughtUp reports whether the group committed every partition's end offset.
func (e *env) caughtUp(group string, parts int) bool {
	end := e.kafka.EndOffsets(topic, parts)
	got := e.kafka.Committed(group, topic, parts)
	for p, off := range end {
		if off > 0 && got[p] != off {
			return false
		}
	}
	return true
}
