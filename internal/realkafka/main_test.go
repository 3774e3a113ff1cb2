package realkafka

import (
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
// part of the real broker under test (see testenv.RealBroker).
func broker(t *testing.T, name string) string {
	t.Helper()
	return testenv.RealBroker(t, name)
}

// env is one test's world: a topic of its own on the real broker, a
// redis-server, and the Iterable simulator (see testenv.NewRealStack).
type env struct {
	*testenv.Stack
	t *testing.T
}

func newEnv(t *testing.T, parts int, opts sim.Options) *env {
	t.Helper()
	opts.APIKey = apiKey
	return &env{Stack: testenv.NewRealStack(t, parts, opts), t: t}
}

// syncConfig says how a config differs between tests.
type syncConfig struct {
	bulkPerSecond int
	maxUsers      int
	brokers       []string // default: the PLAINTEXT listener
	security      string   // extra YAML under kafka:, indented two spaces
}

// writeConfig writes a sync config and returns its path. The API key comes
// from the environment, as in production; instances share the global rate
// limit.
func (e *env) writeConfig(file string, c syncConfig) string {
	e.t.Helper()
	sc := e.Sync()
	if c.brokers != nil {
		sc.Brokers = c.brokers
	}
	sc.Kafka, sc.MaxUsers, sc.MaxWait = c.security, c.maxUsers, 50*time.Millisecond
	sc.BulkPerSecond, sc.Scope = float64(c.bulkPerSecond), "global"
	sc.RetryInitial, sc.RetryMax = 50*time.Millisecond, time.Second
	sc.Telemetry = `{listen: "127.0.0.1:0", log_level: debug}`
	return sc.Write(e.t, e.Dir, file)
}

// startProc starts the attrsync binary with the API key in its
// environment, as a deployment would pass it.
func (e *env) startProc(args ...string) *testenv.Proc {
	e.t.Helper()
	return e.StartProc(binary, args...)
}

// stopWithin is how long a SIGTERMed process may take to drain and exit.
const stopWithin = 45 * time.Second

// caughtUp reports whether the group committed every partition's end
// offset: lag 0.
func (e *env) caughtUp(_ int) bool { return e.CaughtUp(e.Group()) }

// lag is the group's total lag over the topic.
func (e *env) lag(_ int) int64 { return e.Lag(e.Group()) }
