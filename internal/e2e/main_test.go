package e2e

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// binary is the attrsync executable built once for the package's tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attrsync-e2e")
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
  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: plan.tier, to: planTier}
    - {from: version, to: version, type: number}
    - {from: signup_at, to: signedUpAt, type: date}
batch: {max_users: %d, max_wait: 50ms}
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
			e.t.Logf("attrsync log %s:\n%s", logPath, tail(b, 4000))
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
	case <-time.After(30 * time.Second):
		t.Fatal("attrsync did not exit within 30s of SIGTERM")
	}
	return p.cmd.ProcessState.ExitCode()
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
		time.Sleep(50 * time.Millisecond)
	}
}

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
