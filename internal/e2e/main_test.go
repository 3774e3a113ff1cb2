package e2e

import (
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

// env is one test's world (see testenv.Stack).
type env struct {
	*testenv.Stack
	t *testing.T
}

func newEnv(t *testing.T, parts int, opts sim.Options) *env {
	t.Helper()
	opts.APIKey = apiKey
	s := testenv.NewStack(t, parts, opts)
	s.Name = "e2e"
	return &env{Stack: s, t: t}
}

// writeConfig writes a sync config for group and returns its path. The API
// key comes from the environment, as in production; several instances
// share the global rate limit.
func (e *env) writeConfig(group string, bulkPerSecond int, maxUsers int) string {
	e.t.Helper()
	c := e.Sync()
	c.Group, c.MaxUsers, c.MaxWait = group, maxUsers, 50*time.Millisecond
	c.BulkPerSecond, c.Scope = float64(bulkPerSecond), "global"
	c.RetryInitial, c.RetryMax = 50*time.Millisecond, time.Second
	c.Telemetry = `{listen: "127.0.0.1:0", log_level: debug}`
	return c.Write(e.t, e.Dir, group+".yaml")
}

// startProc starts the attrsync binary with the API key in its
// environment, as a deployment would pass it.
func (e *env) startProc(args ...string) *testenv.Proc {
	e.t.Helper()
	return e.StartProc(binary, args...)
}

// stopWithin is how long a SIGTERMed process may take to drain and exit.
const stopWithin = 30 * time.Second

// caughtUp reports whether the group committed every partition's end offset.
func (e *env) caughtUp(group string, _ int) bool { return e.CaughtUp(group) }
