package pipeline_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/testenv/testapp"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

const (
	topic    = "app.public.users"
	dlqTopic = "attrsync.itest.dlq"
	apiKey   = "itest-0123456789abcdef"
)

// env is one sync's surroundings (see testenv.Stack).
type env struct {
	*testenv.Stack
	t *testing.T
	// log, when set, receives the logs of syncs started afterwards.
	log *slog.Logger
}

func newEnv(t *testing.T, parts int, opts sim.Options) *env {
	t.Helper()
	opts.APIKey = apiKey
	if opts.BulkUpdatePerSecond == 0 {
		opts.BulkUpdatePerSecond = 50 // fast tests; the 5/s limit has its own tests
	}
	return &env{Stack: testenv.NewStack(t, parts, opts), t: t}
}

// config is a sync of the users topic onto firstName, planTier, version
// and signedUpAt for group, with extra YAML lines appended under iterable
// (indented by 2) or at top level (not indented, each replacing the
// section of the same key).
func (e *env) config(group string, extra ...string) *config.Config {
	e.t.Helper()
	c := e.Sync()
	c.Group = group
	c.Add(extra...)
	cfg, err := config.Parse([]byte(c.YAML()), testenv.Env(apiKey))
	if err != nil {
		e.t.Fatalf("config: %v\n%s", err, c.YAML())
	}
	return cfg
}

func (e *env) start(cfg *config.Config) *testapp.Sync {
	e.t.Helper()
	return e.startWith(cfg, app.Options{})
}

func (e *env) startWith(cfg *config.Config, opts app.Options) *testapp.Sync {
	e.t.Helper()
	return testapp.Start(e.t, cfg, e.log, opts)
}

// waitCommitted waits until the group's committed offsets reach the ends.
func (e *env) waitCommitted(group string) {
	e.t.Helper()
	end := e.Kafka.EndOffsets(topic, e.Parts)
	deadline := time.Now().Add(30 * time.Second)
	var got map[int]int64
	for time.Now().Before(deadline) {
		got = e.Kafka.Committed(group, topic, e.Parts)
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
