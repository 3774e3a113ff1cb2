package realkafka

import (
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestKeyRestoredAfterAMemberDied revokes the API key while two instances
// sync, SIGKILLs one of them while the key is refused (its partitions move
// to the survivor, which then has no request left to retry), and restores
// the key: the survivor must resume by itself, within a probe interval,
// deliver everything and report ready again. (On the real broker: kfake
// does not always expire a member killed between joining and syncing.)
func TestKeyRestoredAfterAMemberDied(t *testing.T) {
	const parts = 4
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: 20})
	h := testenv.History(600, 4, 23)
	e.Kafka.Produce(e.Topic, h.Msgs...)
	cfg := e.writeConfig("authpause.yaml", syncConfig{bulkPerSecond: 20, maxUsers: 25}) // retry.max_interval 1s: a probe a second

	a := e.startProc("run", "-c", cfg)
	b := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 60*time.Second, "both members syncing", func() bool {
		return e.Kafka.GroupMembers(e.Group()) == 2 && len(testenv.BulkRequests(e.Sim)) >= 4
	})
	e.Sim.SetFaults(sim.Faults{RevokeKey: true})
	readyz := b.ReadyzURL(t)
	testenv.WaitFor(t, 30*time.Second, "the survivor to report not ready", func() bool { return !testenv.Ready(readyz) })
	generations := func() int { return strings.Count(b.Output(t), `"msg":"consumer group: generation started"`) }
	before := generations()
	a.Kill(t)
	testenv.WaitFor(t, 90*time.Second, "the survivor's next generation (the dead member's partitions moved to it)", func() bool {
		return generations() > before && e.Kafka.GroupMembers(e.Group()) == 1
	})
	time.Sleep(3 * time.Second) // the new generation has nothing to retry
	if e.caughtUp(parts) {
		t.Fatal("the stream was finished while the key was refused; the test needs a longer stream")
	}

	e.Sim.SetFaults(sim.Faults{})
	restored := time.Now()
	testenv.WaitFor(t, 15*time.Second, "the survivor to report ready", func() bool { return testenv.Ready(readyz) })
	if d := time.Since(restored); d > 5*time.Second {
		t.Errorf("ready %s after the key was restored; the probe runs every second", d)
	}
	testenv.WaitFor(t, 120*time.Second, "every end offset committed", func() bool { return e.caughtUp(parts) })
	if code := b.Stop(t, stopWithin); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
}
