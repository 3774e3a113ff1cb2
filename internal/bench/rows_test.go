//go:build !race

package bench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchEnv starts the bench's world for one test: kfake, or the real
// broker named by ATTRSYNC_KAFKA_BROKERS when BENCH_BROKER=real.
func benchEnv(t *testing.T) *env {
	t.Helper()
	var brokers []string
	var pid int
	if os.Getenv("BENCH_BROKER") == "real" {
		brokers = strings.Split(os.Getenv("ATTRSYNC_KAFKA_BROKERS"), ",")
		pid = BrokerPID(os.Getenv("ATTRSYNC_KAFKA_DIR"))
	}
	e, err := startEnv(brokers)
	if err != nil {
		t.Fatal(err)
	}
	e.brokerPID = pid
	t.Cleanup(e.close)
	return e
}

// TestWritePathRows runs the write path with one and three instances and
// checks that the simulator, enforcing Iterable's 5 requests per second,
// answered no 429 and that requests went out within the window.
// BENCH_WRITE_WINDOW (a duration) sets the window (default QuickOptions')
// and BENCH_WRITE_INSTANCES the instance counts ("1,3"); the figures are
// logged.
func TestWritePathRows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and a broker")
	}
	opts := QuickOptions()
	if d, err := time.ParseDuration(os.Getenv("BENCH_WRITE_WINDOW")); err == nil && d > 0 {
		opts.WriteWindow = d
	}
	counts := []int{1, 3}
	if s := os.Getenv("BENCH_WRITE_INSTANCES"); s != "" {
		counts = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 || n > opts.Partitions {
				t.Fatalf("BENCH_WRITE_INSTANCES=%q: want counts from 1 to %d", s, opts.Partitions)
			}
			counts = append(counts, n)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e := benchEnv(t)
	for _, n := range counts {
		w, err := writePath(ctx, e, opts, n)
		if err != nil {
			t.Fatalf("%d instance(s): %v", n, err)
		}
		t.Logf("%d instance(s): %.0f users/s = %.1f %% of 5 req/s × 1000; %d requests in %.2f s (window opened %.1f s after start); %d × 429%s",
			n, w.usersPerSecond(), 100*w.usersPerSecond()/theoreticalUsersPerSecond, w.requests, w.window.Seconds(), w.joined.Seconds(), w.tooMany, tooManyWhen(w.tooManyAt))
		if w.tooMany != 0 {
			t.Errorf("%d instance(s): %d × 429 from a simulator enforcing the limit the sync paces at", n, w.tooMany)
		}
		if w.requests == 0 {
			t.Errorf("%d instance(s): no request accepted within the window", n)
		}
	}
}

// TestRunRSSRows runs `attrsync run` as a child process on a snapshot
// backlog and one five times as large and logs its peak RSS.
// BENCH_SNAPSHOT_USERS sets the smaller backlog (default QuickOptions').
// It asserts no figure: the bounds are asserted by internal/e2e's
// TestMemoryBoundedByBudget, quickly and with a small budget.
func TestRunRSSRows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and a broker, builds attrsync")
	}
	opts := QuickOptions()
	if n, err := strconv.Atoi(os.Getenv("BENCH_SNAPSHOT_USERS")); err == nil && n > 0 {
		opts.SnapshotUsers = n
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	r := &runner{ctx: ctx, e: benchEnv(t), opts: opts, log: testLog{t}, rows: map[string]Row{}}
	r.runRSS()
	for _, m := range []string{MetricRunRSS, MetricRunRSS5, MetricRunRSSRatio} {
		row := r.rows[m]
		t.Logf("%s: %s | %s | %s | %s", m, row.Value, row.Baseline, row.Versus, row.Notes)
	}
	for _, err := range r.errs {
		t.Error(err)
	}
}

// testLog writes the bench's progress lines to the test's log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
