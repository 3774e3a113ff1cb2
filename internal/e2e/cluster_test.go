package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestSyncOnRedisCluster runs two instances against a three-master Redis
// Cluster: their state and their shared (global) rate limit live there,
// spread over every master. Iterable ends with every last value and no
// order regression; state inspect reads a user back; state reset drops
// every user, on every master, so that a replay sends everyone again.
func TestSyncOnRedisCluster(t *testing.T) {
	const parts = 4
	const users = 300
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: 20})
	cluster := testenv.StartRedisCluster(t)
	h := testenv.History(users, 3, 37)
	e.Kafka.Produce(topic, h.Msgs...)
	c := e.Sync()
	c.Group, c.MaxUsers, c.BulkPerSecond, c.Scope = "cluster", 25, 20, "global"
	c.RedisURL, c.RedisCluster = cluster.URL, true
	c.Telemetry = `{listen: "127.0.0.1:0"}`
	cfg := c.Write(t, e.Dir, "cluster.yaml")

	a := e.startProc("run", "-c", cfg)
	b := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 120*time.Second, "every end offset committed", func() bool { return e.caughtUp("cluster", parts) })
	for _, p := range []*testenv.Proc{a, b} {
		if code := p.Stop(t, stopWithin); code != 0 {
			t.Errorf("exit %d after SIGTERM, want 0", code)
		}
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if n := e.Sim.Stats().TooManyRequests; n != 0 {
		t.Errorf("%d requests answered 429: the instances did not share one budget", n)
	}

	inspect := e.startProc("state", "inspect", "-c", cfg, "--user", "user0042@example.com")
	if code := inspect.Wait(t, 30*time.Second); code != 0 || !strings.Contains(inspect.Output(t), "firstName") {
		t.Errorf("state inspect on the cluster: exit %d\n%s", code, inspect.Output(t))
	}
	reset := e.startProc("state", "reset", "-c", cfg, "--yes")
	if code := reset.Wait(t, 30*time.Second); code != 0 || !strings.Contains(reset.Output(t), strconv.Itoa(users)) {
		t.Errorf("state reset on the cluster: exit %d, want %d users dropped\n%s", code, users, reset.Output(t))
	}
	before := len(testenv.BulkRequests(e.Sim))
	replay := e.startProc("replay", "-c", cfg, "--from", "earliest")
	if code := replay.Wait(t, 90*time.Second); code != 0 {
		t.Fatalf("replay exited %d\n%s", code, replay.Output(t))
	}
	sent := 0
	for _, r := range testenv.BulkRequests(e.Sim)[before:] {
		sent += r.Users
	}
	if sent < users {
		t.Errorf("after a reset the replay sent %d users, want all %d again", sent, users)
	}
}
