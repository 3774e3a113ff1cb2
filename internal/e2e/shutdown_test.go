package e2e

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestShutdown: SIGTERM with requests in flight drains them, commits and
// exits 0; a second SIGTERM during a long drain exits at once; a restart
// then finishes the stream with Iterable holding every last value.
func TestShutdown(t *testing.T) {
	const parts = 2
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: 20})
	// Enough users that work is still waiting in the engine at the signal:
	// what was already diffed is legitimately sent during the drain.
	h := testenv.History(1200, 4, 13)
	e.Kafka.Produce(topic, h.Msgs...)
	cfg := e.writeConfig("term", 20, 25)

	// Slow answers keep requests in flight when the signal comes.
	e.Sim.SetFaults(sim.Faults{Latency: 700 * time.Millisecond})
	p := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 60*time.Second, "accepted requests", func() bool { return len(e.Sim.Requests()) >= 4 })
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	log, _ := os.ReadFile(p.Log)
	if !strings.Contains(string(log), "attrsync stopped") {
		t.Errorf("no orderly stop in the log")
	}
	// Which partition's users were served first depends on which fetch
	// arrived first; what matters is that the drain committed what it
	// finished.
	committed := int64(0)
	for _, off := range e.Kafka.Committed("term", topic, parts) {
		committed += max(off, 0)
	}
	if committed == 0 {
		t.Errorf("nothing committed by the drain")
	}
	if e.caughtUp("term", parts) {
		t.Fatal("the stream finished before the signal; the test needs a longer stream")
	}

	// A drain that would take 20 s: the second signal ends it at once.
	// Iterable turns slow once the sync runs (its start reads the
	// project's field types).
	p = e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 60*time.Second, "the sync to start", func() bool { return strings.Contains(p.Output(t), "generation started") })
	e.Sim.SetFaults(sim.Faults{Latency: 20 * time.Second})
	time.Sleep(2 * time.Second) // requests now wait in the simulator
	p.Signal(t, syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	p.Signal(t, syscall.SIGTERM)
	if code := p.Wait(t, 5*time.Second); code == 0 {
		t.Errorf("exit 0 after an interrupted drain, want non-zero")
	}

	e.Sim.SetFaults(sim.Faults{})
	p = e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 120*time.Second, "the group to commit every end offset", func() bool { return e.caughtUp("term", parts) })
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
}
