package cli

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

const (
	opsTopic = "app.public.users"
	opsKey   = "cli-ops-key-7d3f0b"
)

// opsEnv is a broker, a redis-server and a simulated Iterable for the
// commands that reach them (see testenv.Stack).
type opsEnv struct {
	*testenv.Stack
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	s := testenv.NewStack(t, 2, sim.Options{APIKey: opsKey, BulkUpdatePerSecond: 50})
	s.Name = "ops"
	return &opsEnv{Stack: s}
}

// sync is the environment's sync config, in group ops, logging at info.
func (e *opsEnv) sync() testenv.SyncConfig {
	c := e.Sync()
	c.Group, c.APIKey, c.DLQTopic = "ops", opsKey, "ops.dlq"
	c.RetryMax = 300 * time.Millisecond
	c.Telemetry = `{listen: "127.0.0.1:0", log_level: info}`
	return c
}

// configFile writes a config for the environment, with Iterable's key and
// Redis URL as given.
func (e *opsEnv) configFile(t *testing.T, key, redisURL string) string {
	t.Helper()
	c := e.sync()
	c.APIKey, c.RedisURL = key, redisURL
	return c.Write(t, t.TempDir(), "attrsync.yaml")
}

// lockedBuffer is a buffer the command under test writes to while the
// test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// runUntil runs `attrsync run` with args until done reports true, then
// stops it as a signal would, and returns its exit status and output.
func runUntil(t *testing.T, args []string, done func(stderr string) bool) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	exit := make(chan int, 1)
	go func() { exit <- runSync(ctx, args, &stdout, &stderr) }()
	deadline := time.Now().Add(60 * time.Second)
	for !done(stderr.String()) {
		select {
		case code := <-exit:
			t.Fatalf("run exited %d early:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run never got there:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case code := <-exit:
		return code, stdout.String(), stderr.String()
	case <-time.After(30 * time.Second):
		t.Fatal("run did not stop within 30s of its signal")
		return 0, "", ""
	}
}

func TestRunDryRunWritesNothing(t *testing.T) {
	e := newOpsEnv(t)
	h := testenv.History(30, 2, 3)
	e.Kafka.Produce(opsTopic, h.Msgs...)
	path := e.configFile(t, opsKey, e.Redis.URL)

	code, stdout, stderr := runUntil(t, []string{"-c", path, "--dry-run"}, func(log string) bool {
		return strings.Count(log, "dry run: would send bulkUpdate") > 0 && strings.Contains(log, `"users":`)
	})
	if code != exitOK {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if n := len(e.Sim.Requests()); n != 0 {
		t.Errorf("a dry run sent %d requests to Iterable", n)
	}
	if !strings.Contains(stdout, "nothing was written") {
		t.Errorf("stdout does not summarise the dry run: %q", stdout)
	}
	for p, off := range e.Kafka.Committed("ops", opsTopic, 2) {
		if off >= 0 {
			t.Errorf("a dry run committed offset %d on partition %d", off, p)
		}
	}
	var out, errOut bytes.Buffer
	if code := Main([]string{"state", "inspect", "-c", path, "--user", "user0001@example.com"}, &out, &errOut); code != exitOK {
		t.Fatalf("state inspect: exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "none stored") {
		t.Errorf("a dry run saved state:\n%s", out.String())
	}
}

func TestStateInspectAndReset(t *testing.T) {
	e := newOpsEnv(t)
	h := testenv.History(20, 1, 5)
	e.Kafka.Produce(opsTopic, h.Msgs...)
	path := e.configFile(t, opsKey, e.Redis.URL)
	code, _, stderr := runUntil(t, []string{"-c", path}, func(string) bool { return len(e.Sim.Profiles()) == len(h.Last) })
	if code != exitOK {
		t.Fatalf("run: exit %d:\n%s", code, stderr)
	}

	// The identifier is normalised as the mapping does: trimmed, lowercased.
	var out, errOut bytes.Buffer
	if code := Main([]string{"state", "inspect", "-c", path, "--user", "  USER0007@Example.COM "}, &out, &errOut); code != exitOK {
		t.Fatalf("state inspect: exit %d: %s", code, errOut.String())
	}
	got := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`user: +user0007@example.com \(email\)`),
		regexp.MustCompile(`position: +app\.public\.users partition [01] offset \d+`),
		regexp.MustCompile(`accepted at: +\d{4}-\d\d-\d\dT`),
		regexp.MustCompile(`(?m)^  firstName +[0-9a-f]{16}$`),
		regexp.MustCompile(`(?m)^  signedUpAt +[0-9a-f]{16}$`),
	} {
		if !want.MatchString(got) {
			t.Errorf("state inspect output does not match %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "in doubt") {
		t.Errorf("an accepted user is shown in doubt:\n%s", got)
	}

	// A request sent but never recorded (the process died) shows as in doubt.
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: e.Redis.Addr})
	defer rdb.Close()
	store, err := state.New(ctx, rdb, "attrsync", "ops", testenv.StreamFields())
	if err != nil {
		t.Fatal(err)
	}
	user := change.Identifier{Kind: change.Email, Value: "user0007@example.com"}
	recs, err := store.Load(ctx, []change.Identifier{user})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Intend(ctx, []change.Identifier{user}, recs, []change.Position{{Topic: opsTopic, Partition: 1, Offset: 99}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	Main([]string{"state", "inspect", "-c", path, "--user", "user0007@example.com"}, &out, &errOut)
	if !strings.Contains(out.String(), "in doubt:    a request built up to partition 1 offset 99") {
		t.Errorf("state inspect does not show the request in doubt:\n%s", out.String())
	}

	// Reset asks first; anything but "yes" drops nothing.
	out.Reset()
	if code := stateCmd([]string{"reset", "-c", path}, strings.NewReader("no\n"), &out, &errOut); code == exitOK {
		t.Errorf("reset without confirmation exited 0:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "nothing dropped") {
		t.Errorf("declined reset says %q", out.String())
	}
	out.Reset()
	if code := stateCmd([]string{"reset", "-c", path}, strings.NewReader("yes\n"), &out, &errOut); code != exitOK {
		t.Fatalf("reset: exit %d: %s", code, errOut.String())
	}
	if want := fmt.Sprintf("dropped the state of %d users", len(h.Last)); !strings.Contains(out.String(), want) {
		t.Errorf("reset says %q, want %q", out.String(), want)
	}
	out.Reset()
	Main([]string{"state", "inspect", "-c", path, "--user", "user0007@example.com"}, &out, &errOut)
	if !strings.Contains(out.String(), "none stored") {
		t.Errorf("state survived the reset:\n%s", out.String())
	}
	out.Reset()
	if code := stateCmd([]string{"reset", "-c", path, "--yes"}, strings.NewReader(""), &out, &errOut); code != exitOK || !strings.Contains(out.String(), "dropped the state of 0 users") {
		t.Errorf("reset --yes of an empty state: exit %d, %q", code, out.String())
	}
}

func TestStateInspectRefusesAnInvalidIdentifier(t *testing.T) {
	e := newOpsEnv(t)
	var out, errOut bytes.Buffer
	code := Main([]string{"state", "inspect", "-c", e.configFile(t, opsKey, e.Redis.URL), "--user", "not-an-email"}, &out, &errOut)
	if code != exitUsage || !strings.Contains(errOut.String(), "invalid email") {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
}

func TestValidateConnectReportsEachSystem(t *testing.T) {
	e := newOpsEnv(t)
	var out, errOut bytes.Buffer
	if code := Main([]string{"validate", "-c", e.configFile(t, opsKey, e.Redis.URL), "--connect"}, &out, &errOut); code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"kafka:    ok (app.public.users: 2 partitions)", "redis:    ok", "iterable: ok"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}

	out.Reset()
	code := Main([]string{"validate", "-c", e.configFile(t, "a-wrong-key", "redis://127.0.0.1:1/0"), "--connect"}, &out, &errOut)
	if code != exitFailed {
		t.Errorf("exit %d with a wrong key and no Redis, want %d", code, exitFailed)
	}
	for _, want := range []string{"kafka:    ok", "redis:    FAILED", "iterable: FAILED: API key refused (401)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String()+errOut.String(), "a-wrong-key") {
		t.Error("the API key appears in the output")
	}
}
