package realkafka

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// binary is the attrsync executable built once for the package's tests.
var binary string

func TestMain(m *testing.M) { testenv.RunWithAttrsync(m, &binary) }

const apiKey = "realkafka-key-0123456789"

// broker returns the value of the environment variable name, which names
// part of the real broker under test. Without it the test skips, or fails
// under CI.
func broker(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the real-broker tier is skipped")
	}
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	msg := fmt.Sprintf("%s is not set: this test needs a real Kafka broker (make test starts one; see README, \"Integration tests on a real broker\")", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// env is one test's world: a topic of its own on the real broker, a
// redis-server, and the Iterable simulator.
type env struct {
	t       *testing.T
	brokers []string
	kafka   *testenv.Kafka
	redis   *testenv.Redis
	sim     *sim.Server
	url     string
	dir     string
	topic   string
	name    string // sync name, unique per test and run
}

func newEnv(t *testing.T, parts int, opts sim.Options) *env {
	t.Helper()
	brokers := strings.Split(broker(t, "ATTRSYNC_KAFKA_BROKERS"), ",")
	opts.APIKey = apiKey
	opts.VersionField = "version"
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	// Names are unique per run, so a shared cluster can hold runs side by side.
	name := fmt.Sprintf("it-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	e := &env{
		t: t, brokers: brokers, kafka: testenv.ExternalKafka(t, brokers), redis: testenv.StartRedis(t),
		sim: s, url: srv.URL, dir: t.TempDir(), topic: "attrsync-" + name, name: name,
	}
	e.kafka.CreateTopic(e.topic, parts)
	e.kafka.CreateTopic(e.dlqTopic(), 1)
	return e
}

func (e *env) dlqTopic() string { return "attrsync-" + e.name + ".dlq" }

// group is the consumer group of the sync.
func (e *env) group() string { return "attrsync-" + e.name }

// syncConfig says how a config differs between tests.
type syncConfig struct {
	bulkPerSecond int
	maxUsers      int
	brokers       []string // default: the PLAINTEXT listener
	security      string   // extra YAML under kafka:, indented two spaces
}

// writeConfig writes a sync config and returns its path. The API key comes
// from the environment, as in production.
func (e *env) writeConfig(file string, c syncConfig) string {
	e.t.Helper()
	brokers := c.brokers
	if brokers == nil {
		brokers = e.brokers
	}
	quoted := make([]string, len(brokers))
	for i, b := range brokers {
		quoted[i] = fmt.Sprintf("%q", b)
	}
	cfg := fmt.Sprintf(`sync: {name: %s}
kafka:
  brokers: [%s]
  topics: [%q]
  session_timeout: 6s
  heartbeat_interval: 1s
%sredis: {url: %q}
iterable:
  base_url: %q
  api_key: ${ITERABLE_API_KEY}
`+testenv.StreamMapping+`batch: {max_users: %d, max_wait: 50ms}
rate_limit: {bulk_update_per_second: %d, scope: global}
retry: {initial_interval: 50ms, max_interval: 1s}
dlq: {topic: %q}
shutdown_grace: 10s
telemetry: {listen: "127.0.0.1:0", log_level: debug}
`, e.name, strings.Join(quoted, ", "), e.topic, c.security, e.redis.URL, e.url, c.maxUsers, c.bulkPerSecond, e.dlqTopic())
	path := filepath.Join(e.dir, file)
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
const stopWithin = 45 * time.Second

// caughtUp reports whether the group committed every partition's end
// offset: lag 0.
func (e *env) caughtUp(parts int) bool {
	end := e.kafka.EndOffsets(e.topic, parts)
	got := e.kafka.Committed(e.group(), e.topic, parts)
	for p, off := range end {
		if off > 0 && got[p] != off {
			return false
		}
	}
	return true
}

// lag is the group's total lag over the topic.
func (e *env) lag(parts int) int64 {
	end := e.kafka.EndOffsets(e.topic, parts)
	got := e.kafka.Committed(e.group(), e.topic, parts)
	var n int64
	for p, off := range end {
		n += off - max(got[p], 0)
	}
	return n
}

func bulkRequests(s *sim.Server) []sim.Request {
	var out []sim.Request
	for _, r := range s.Requests() {
		if r.Endpoint == sim.EndpointBulkUpdate {
			out = append(out, r)
		}
	}
	return out
}
