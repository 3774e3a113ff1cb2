package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestMemoryBoundedByBudget: the peak RSS of `attrsync run` does not grow
// with the backlog waiting in Kafka. The plain binary (no race detector, as
// users run it) syncs a snapshot of n users and, in a fresh world, one of
// 5n users, each one changed event per user. With batch.max_held_bytes at
// 4 MiB and events of about 2.5 KB, either backlog is many budgets deep,
// and Iterable's 5 requests per second make sending far slower than
// fetching: without the budget the process would hold the backlog,
// about 70 MiB more at 5n than at n (values and what decoding them keeps).
func TestMemoryBoundedByBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds the plain binary and syncs 24,000 users")
	}
	bin, err := testenv.BuildAttrsyncPlain(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 4000
	const budget = 4 << 20
	small := snapshotPeakRSS(t, bin, n, budget)
	large := snapshotPeakRSS(t, bin, 5*n, budget)
	t.Logf("peak RSS: %d KiB at %d users, %d KiB at %d users (budget %d KiB)", small, n, large, 5*n, budget>>10)
	// The margin covers what the garbage collector's timing moves a peak
	// by; a backlog held in memory would pass it several times over.
	const margin = 24 << 10 // KiB
	if large-small > margin {
		t.Errorf("peak RSS grew with the backlog: %d KiB at %d users, %d KiB at %d users (more than %d KiB apart)",
			small, n, large, 5*n, margin)
	}
}

// snapshotPeakRSS syncs a backlog of users snapshot events with the given
// held-message budget and returns the process's peak RSS in KiB, read
// once the group committed every message and Iterable holds every user.
func snapshotPeakRSS(t *testing.T, bin string, users int, heldBytes int) int64 {
	t.Helper()
	e := newEnv(t, 4, sim.Options{DiscardBodies: true}) // Iterable's limits
	// An unmapped column makes the events the size of a real users table's
	// (a Debezium event of a wide row is kilobytes).
	bio := strings.Repeat("lorem ipsum ", 200)
	const chunk = 5000
	for lo := 0; lo < users; lo += chunk {
		msgs := make([]change.Message, 0, chunk)
		for u := lo; u < min(lo+chunk, users); u++ {
			msgs = append(msgs, testenv.Upsert(u, testenv.Row{
				"id": u, "email": fmt.Sprintf("user%06d@example.com", u), "first_name": fmt.Sprint("name-", u),
				"plan": map[string]any{"tier": "pro"}, "version": 1, "signup_at": 1700000000000 + int64(u), "bio": bio,
			}))
		}
		e.Kafka.Produce(topic, msgs...)
	}
	c := e.Sync()
	c.Group = fmt.Sprintf("mem-%d", users)
	c.BulkPerSecond, c.Scope = sim.DefaultBulkUpdatePerSecond, "global"
	c.Telemetry = `{listen: "127.0.0.1:0"}`
	c.Add(fmt.Sprintf("batch: {max_users: 1000, max_wait: 1s, max_held_bytes: %d}", heldBytes))
	cfg := c.Write(t, e.Dir, c.Group+".yaml")

	p := e.StartProc(bin, "run", "-c", cfg)
	testenv.WaitFor(t, 2*time.Minute, "every user synced and committed", func() bool {
		return e.Sim.Stats().UsersCreated >= users && e.caughtUp(c.Group, 4)
	})
	peak, err := testenv.VmHWM(p.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	if n := e.Sim.Stats().TooManyRequests; n != 0 {
		t.Errorf("%d × 429: the sync went faster than Iterable allows", n)
	}
	return peak
}
