package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// The rows of `attrsync run`'s own memory (issue 8): the binary users run,
// started as a child process at default settings, syncs an initial
// snapshot that waits in Kafka before it starts, one changed event per
// user, against Iterable's enforced 5 requests per second. Its peak RSS is
// read from the child's /proc/<pid>/status, so neither this process nor
// the broker in it counts. Memory bounded by configuration means the peak
// does not follow the backlog: a five times larger one costs about the
// same.
const (
	MetricRunRSS      = "attrsync run peak RSS, snapshot backlog"
	MetricRunRSS5     = "attrsync run peak RSS, 5× snapshot backlog"
	MetricRunRSSRatio = "attrsync run peak RSS, 5× / 1× backlog"
)

// The targets of SPEC §2 and issue 8: at most 256 MiB on a 1M-user
// snapshot, and within 15 % of the peak of a 200k-user one.
const (
	runRSSBudgetKiB = 256 << 10
	runRSSGrowthMax = 1.15
)

// snapshotResult is one `attrsync run` over a snapshot backlog.
type snapshotResult struct {
	users     int
	eventSize int           // bytes of one event's value, on average
	peak      int64         // KiB, the child's VmHWM
	took      time.Duration // from starting the process to the last commit
	requests  int           // bulkUpdate requests Iterable accepted
	tooMany   int
}

func (r *runner) runRSS() {
	n := r.opts.SnapshotUsers
	metrics := []string{MetricRunRSS, MetricRunRSS5, MetricRunRSSRatio}
	defer r.step("attrsync run as a child process: %s- and %s-user snapshot backlogs", thousands(int64(n)), thousands(int64(5*n)))()
	bin, err := testenv.BuildAttrsyncPlain(r.e.dir)
	if err != nil {
		r.fail(err, metrics...)
		return
	}
	var res [2]snapshotResult
	for i, users := range []int{n, 5 * n} {
		res[i], err = runSnapshot(r.ctx, r.e, bin, r.opts, users)
		if err != nil {
			r.fail(fmt.Errorf("attrsync run, %s-user snapshot: %w", thousands(int64(users)), err), metrics[i], MetricRunRSSRatio)
			continue
		}
		s := res[i]
		r.set(Row{
			Metric: metrics[i], Value: mib(s.peak),
			Baseline: mib(runRSSBudgetKiB) + " budget",
			Versus:   fmt.Sprintf("%.0f %% of budget", 100*float64(s.peak)/runRSSBudgetKiB),
			Notes: fmt.Sprintf("VmHWM of the child; %s users, one changed snapshot event each (%s B), in Kafka before start; "+
				"all synced and committed in %.0f s, %d requests, %d × 429; defaults (batch.max_held_bytes 64 MiB)",
				thousands(int64(s.users)), thousands(int64(s.eventSize)), s.took.Seconds(), s.requests, s.tooMany),
		})
	}
	if res[0].peak == 0 || res[1].peak == 0 {
		return
	}
	ratio := float64(res[1].peak) / float64(res[0].peak)
	r.set(Row{
		Metric: MetricRunRSSRatio, Value: fmt.Sprintf("%.2f×", ratio),
		Baseline: fmt.Sprintf("%.2f× target", runRSSGrowthMax),
		Versus:   fmt.Sprintf("%+.0f %%", 100*(ratio-1)),
		Notes: fmt.Sprintf("%s at %s users ÷ %s at %s users, same run",
			mib(res[1].peak), thousands(int64(res[1].users)), mib(res[0].peak), thousands(int64(res[0].users))),
	})
}

// runSnapshot produces a snapshot of users users to a topic of its own,
// runs bin (`attrsync run`) on it with a sync of its own (empty state, so
// every user is a change), waits until Iterable accepted every user and
// the group committed every offset, and reads the child's peak RSS before
// stopping it with SIGTERM.
func runSnapshot(ctx context.Context, e *env, bin string, opts Options, users int) (snapshotResult, error) {
	res := snapshotResult{users: users}
	name := fmt.Sprintf("bench-snapshot-%d", users)
	topic := "bench.snapshot." + fmt.Sprint(users)
	if err := e.createTopic(topic, opts.Partitions); err != nil {
		return res, err
	}
	defer e.deleteTopic(topic)
	total, err := e.produceSnapshot(ctx, newGenerator(users, opts.Seed), topic)
	if err != nil {
		return res, err
	}
	res.eventSize = int(total / int64(users))
	ends, err := e.endOffsets(topic, opts.Partitions)
	if err != nil {
		return res, err
	}

	iter := sim.New(sim.Options{APIKey: apiKey, DiscardBodies: true}) // Iterable's limits
	srv, url, err := serve(iter)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	yaml := syncSpec{
		name: name, brokers: e.brokers, topic: topic, group: name, redisURL: e.redis.URL, iterURL: url,
		bulkPerSecond: sim.DefaultBulkUpdatePerSecond, scope: "global", maxWait: time.Second,
	}.yaml() + "telemetry: {listen: \"127.0.0.1:0\"}\n"
	cfgPath := filepath.Join(e.dir, name+".yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return res, err
	}
	p, err := startChild(bin, filepath.Join(e.dir, name+".log"), "run", "-c", cfgPath)
	if err != nil {
		return res, err
	}
	defer p.Kill()

	// Enough for the backlog at Iterable's ceiling three times over, plus
	// starting and joining.
	limit := 3*time.Duration(float64(users)/theoreticalUsersPerSecond*float64(time.Second)) + 90*time.Second
	lastCheck := time.Time{}
	_, err = waitUntil(ctx, limit, 100*time.Millisecond, func() bool {
		if hwm, err := p.PeakRSS(); err == nil {
			res.peak = max(res.peak, hwm)
		}
		if p.Exited() || iter.Stats().UsersCreated < users || time.Since(lastCheck) < 500*time.Millisecond {
			return p.Exited()
		}
		lastCheck = time.Now()
		got, err := e.committed(name, topic, opts.Partitions)
		if err != nil {
			return false
		}
		for part, end := range ends {
			if got[part] < end {
				return false
			}
		}
		return true
	})
	res.took = time.Since(p.Started)
	if err == nil && p.Exited() {
		err = errors.New("attrsync run exited before the backlog was synced")
	}
	if err == nil {
		// The high-water mark is the peak of the whole run: read it once
		// more, last, while the process still runs.
		var hwm int64
		if hwm, err = p.PeakRSS(); err == nil {
			res.peak = max(res.peak, hwm)
		}
	}
	if err == nil {
		err = stopChild(p, 30*time.Second)
	}
	if err != nil {
		return res, fmt.Errorf("%w; Iterable accepted %d of %d users; log %s", err, iter.Stats().UsersCreated, users, p.Tail(3000))
	}
	st := iter.Stats()
	res.requests = st.Requests[sim.EndpointBulkUpdate][200]
	res.tooMany = st.TooManyRequests
	return res, nil
}

// startChild runs bin with args, its output going to the file log. The Go
// runtime's tuning variables of the bench's environment are left out, so
// the child runs at defaults as a plain `attrsync run` would.
func startChild(bin, log string, args ...string) (*testenv.Process, error) {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") && !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	return testenv.Launch(bin, log, env, args...)
}

// stopChild sends SIGTERM and waits up to d for an exit with status 0.
func stopChild(p *testenv.Process, d time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	code, err := p.Wait(d)
	if err == nil && code != 0 {
		err = fmt.Errorf("attrsync run exited with status %d after SIGTERM", code)
	}
	return err
}
