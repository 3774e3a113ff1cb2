package testenv

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
)

// Topic is the users topic of a Stack on the in-process broker.
const Topic = "app.public.users"

// Stack is what one test's sync runs against: a Kafka broker holding the
// test's users topic, a redis-server and the Iterable simulator, each
// owned by the test and gone when it ends.
type Stack struct {
	Kafka *Kafka
	Redis *Redis
	Sim   *sim.Server
	// URL is the simulator's base URL (behind any middleware WrapIterable
	// put in front of it).
	URL    string
	Topic  string
	Parts  int
	APIKey string
	// Dir is a directory of the test's for config files and logs.
	Dir string
	// Name is the sync's name: unique per test on a shared real broker.
	Name string

	t testing.TB
}

// NewStack starts franz-go's in-process broker with the users topic in
// parts partitions, a redis-server and the simulator. The simulator tracks
// the "version" field (order regressions) unless opts says otherwise, and
// takes APIKey as its key ("test-key-0123456789" when opts has none).
func NewStack(t testing.TB, parts int, opts sim.Options) *Stack {
	t.Helper()
	s := newStack(t, parts, opts)
	s.Kafka, s.Topic, s.Name = StartKafka(t, parts, Topic), Topic, "itest"
	return s
}

// NewRealStack is NewStack on the real broker named by
// ATTRSYNC_KAFKA_BROKERS, with a topic and a dead-letter topic of the
// test's own (deleted when it ends), so runs can share a cluster. Without
// the variable the test skips, or fails under CI=true.
func NewRealStack(t testing.TB, parts int, opts sim.Options) *Stack {
	t.Helper()
	brokers := strings.Split(RealBroker(t, "ATTRSYNC_KAFKA_BROKERS"), ",")
	s := newStack(t, parts, opts)
	s.Name = fmt.Sprintf("it-%s-%d", strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	s.Kafka, s.Topic = ExternalKafka(t, brokers), "attrsync-"+s.Name
	s.Kafka.CreateTopic(s.Topic, parts)
	s.Kafka.CreateTopic(s.DLQTopic(), 1)
	return s
}

func newStack(t testing.TB, parts int, opts sim.Options) *Stack {
	if opts.APIKey == "" {
		opts.APIKey = "test-key-0123456789"
	}
	if opts.VersionField == "" {
		opts.VersionField = "version"
	}
	sm := sim.New(opts)
	srv := httptest.NewServer(sm)
	t.Cleanup(srv.Close)
	return &Stack{Redis: StartRedis(t), Sim: sm, URL: srv.URL, Parts: parts, APIKey: opts.APIKey, Dir: t.TempDir(), t: t}
}

// RealBroker returns the environment variable name, which names part of
// the real broker under test. Without it the test skips (under -short too),
// or fails under CI=true, so that CI cannot pass by skipping the tier.
func RealBroker(t testing.TB, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the real-broker tier is skipped")
	}
	if v := os.Getenv(name); v != "" {
		return v
	}
	msg := fmt.Sprintf("%s is not set: this test needs a real Kafka broker (make test starts one; see README, \"Integration tests on a real broker\")", name)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// DLQTopic is the sync's dead-letter topic.
func (s *Stack) DLQTopic() string { return "attrsync." + s.Name + ".dlq" }

// Group is the sync's default consumer group.
func (s *Stack) Group() string { return "attrsync-" + s.Name }

// Sync is a config of a sync against this stack: its broker, topic, Redis
// and simulator, with the tests' defaults.
func (s *Stack) Sync() SyncConfig {
	return SyncConfig{
		Name: s.Name, Brokers: s.Kafka.Brokers, Topics: []string{s.Topic},
		RedisURL: s.Redis.URL, IterableURL: s.URL, DLQTopic: s.DLQTopic(),
	}
}

// WrapIterable puts middleware in front of the simulator, for failures the
// simulator cannot inject itself (a dropped connection, a Retry-After on a
// 503); configs built afterwards point at it.
func (s *Stack) WrapIterable(mw func(next http.Handler) http.Handler) {
	s.t.Helper()
	srv := httptest.NewServer(mw(s.Sim))
	s.t.Cleanup(srv.Close)
	s.URL = srv.URL
}

// StartProc starts the attrsync binary with the API key in its
// environment, as a deployment would pass it.
func (s *Stack) StartProc(binary string, args ...string) *Proc {
	s.t.Helper()
	return StartProc(s.t, binary, s.Dir, []string{APIKeyEnv + "=" + s.APIKey}, args...)
}

// CaughtUp reports whether group committed every partition's end offset:
// lag 0.
func (s *Stack) CaughtUp(group string) bool {
	return s.Lag(group) == 0
}

// Lag is group's total lag over the topic.
func (s *Stack) Lag(group string) int64 {
	end := s.Kafka.EndOffsets(s.Topic, s.Parts)
	got := s.Kafka.Committed(group, s.Topic, s.Parts)
	var n int64
	for p, off := range end {
		n += off - max(got[p], 0)
	}
	return n
}
