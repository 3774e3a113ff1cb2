package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestDryRunBesideALiveSync starts `run --dry-run` with the live sync's own
// config while the live sync works through a backlog: the dry run reads
// from the group's committed offsets and logs the requests it would send,
// but never joins the group (the live member keeps every partition), and
// the live sync finishes as if it were not there. (That a dry run writes
// nothing is TestDryRunWritesNothing's.)
func TestDryRunBesideALiveSync(t *testing.T) {
	const parts = 4
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: 10})
	h := testenv.History(500, 3, 29)
	e.Kafka.Produce(topic, h.Msgs...)
	cfg := e.writeConfig("dryrun", 10, 25)

	live := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 60*time.Second, "the live sync to send", func() bool { return len(testenv.BulkRequests(e.Sim)) >= 2 })
	dry := e.startProc("run", "-c", cfg, "--dry-run")
	testenv.WaitFor(t, 60*time.Second, "the dry run to log a request it would send", func() bool {
		return strings.Contains(dry.Output(t), "dry run: would send bulkUpdate")
	})
	for range 10 {
		if n := e.Kafka.GroupMembers("dryrun"); n != 1 {
			t.Fatalf("the live group has %d members while a dry run reads beside it, want 1", n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code := dry.Stop(t, stopWithin); code != 0 {
		t.Errorf("dry run exited %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(dry.Output(t), "nothing was written") {
		t.Errorf("the dry run's last words do not say nothing was written:\n%s", dry.Output(t))
	}
	if strings.Contains(live.Output(t), `"generation":2`) {
		t.Error("the live sync went through a rebalance while the dry run read")
	}
	testenv.WaitFor(t, 120*time.Second, "the live sync to commit every end offset", func() bool { return e.caughtUp("dryrun", parts) })
	if code := live.Stop(t, stopWithin); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
}
