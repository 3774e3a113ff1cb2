package e2e

import (
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestKilledProcessLosesNothing SIGKILLs attrsync in the middle of a
// stream, twice, and checks that the restarted process ends with Iterable
// holding every user's last values, in order, and the group caught up.
func TestKilledProcessLosesNothing(t *testing.T) {
	const parts = 4
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: 20})
	h := testenv.History(400, 8, 7)
	e.Kafka.Produce(topic, h.Msgs...)
	cfg := e.writeConfig("crash", 20, 25)

	for kill := 1; kill <= 2; kill++ {
		before := len(e.Sim.Requests())
		p := e.startProc("run", "-c", cfg)
		// Kill once this process has had a few requests accepted: state
		// advanced and offsets committed for some users, in flight for others.
		testenv.WaitFor(t, 60*time.Second, "requests from attrsync", func() bool { return len(e.Sim.Requests()) >= before+6 })
		p.Kill(t)
		if e.caughtUp("crash", parts) {
			t.Fatalf("the stream was finished before kill %d; the test needs a longer stream", kill)
		}
	}
	p := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 120*time.Second, "the group to commit every end offset", func() bool { return e.caughtUp("crash", parts) })
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Errorf("attrsync exited %d after SIGTERM, want 0", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
}
