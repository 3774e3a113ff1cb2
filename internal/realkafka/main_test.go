package realkafka

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// binary is the attrsync executable built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attrsync-realkafka")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "attrsync")
	build := exec.Command("go", "build", "-race", "-o", binary, "github.com/attrsync/attrsync/cmd/attrsync")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build attrsync:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

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
  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: plan.tier, to: planTier}
    - {from: version, to: version, type: number}
    - {from: signup_at, to: signedUpAt, type: date}
batch: {max_users: %d, max_wait: 50ms}
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

// proc is a running attrsync process.
type proc struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

func (e *env) startProc(args ...string) *proc {
	e.t.Helper()
	logPath := filepath.Join(e.dir, fmt.Sprintf("attrsync-%d.log", time.Now().UnixNano()))
	logFile, err := os.Create(logPath)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "ITERABLE_API_KEY="+apiKey)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() { p.done <- cmd.Wait(); logFile.Close() }()
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if e.t.Failed() {
			b, _ := os.ReadFile(logPath)
			e.t.Logf("attrsync log %s:\n%s", logPath, tail(b, 6000))
		}
	})
	return p
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop sends SIGTERM and returns the exit code.
func (p *proc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(45 * time.Second):
		t.Fatal("attrsync did not exit within 45s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
}

// wait waits for the process to exit by itself and returns its exit code
// and its output.
func (p *proc) wait(t *testing.T, d time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("attrsync did not exit within %s", d)
	}
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	return p.cmd.ProcessState.ExitCode(), string(b)
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// waitFor polls cond until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

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
