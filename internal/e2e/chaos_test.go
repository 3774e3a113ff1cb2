package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestChaosKilledThreeTimes SIGKILLs attrsync three times while Iterable
// fails 30% of requests with 5xx, then lets a fourth run finish. Iterable
// must end with every last value and no order regression; the last run,
// stopped by SIGTERM, accounts for every message it consumed, and consumed
// exactly what the killed runs left uncommitted.
func TestChaosKilledThreeTimes(t *testing.T) {
	const parts = 4
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: 20})
	h := testenv.History(400, 8, 17)
	e.Kafka.Produce(topic, h.Msgs...)
	cfg := e.writeConfig("chaos", 20, 25)
	e.Sim.SetFaults(sim.Faults{ErrorRate: 0.3, ErrorStatus: 503, SpikeRate: 0.05, Spike: 2 * time.Second})

	for kill := 1; kill <= 3; kill++ {
		before := len(e.Sim.Requests())
		p := e.startProc("run", "-c", cfg)
		testenv.WaitFor(t, 60*time.Second, "requests from attrsync", func() bool { return len(e.Sim.Requests()) >= before+8 })
		p.Kill(t)
		if e.caughtUp("chaos", parts) {
			t.Fatalf("the stream was finished before kill %d; the test needs a longer stream", kill)
		}
	}
	end := e.Kafka.EndOffsets(topic, parts)
	committed := e.Kafka.Committed("chaos", topic, parts)
	var left int64
	for p, off := range end {
		left += off - max(committed[p], 0)
	}
	p := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 120*time.Second, "the group to commit every end offset", func() bool { return e.caughtUp("chaos", parts) })
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Errorf("exit %d after SIGTERM, want 0", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)

	st := stoppedStats(t, p.Log)
	sum := st["accepted"] + st["unchanged"] + st["stale"] + st["skipped"] + st["absent"] + st["dead_lettered"]
	if st["consumed"] != left || sum != left {
		t.Errorf("last run consumed %d and accounted for %d; the killed runs left %d uncommitted", st["consumed"], sum, left)
	}
}

// stoppedStats reads the counters of the "attrsync stopped" log record.
func stoppedStats(t *testing.T, path string) map[string]int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if !strings.Contains(sc.Text(), `"attrsync stopped"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatal(err)
		}
		out := map[string]int64{}
		for k, v := range rec {
			if n, ok := v.(float64); ok {
				out[k] = int64(n)
			}
		}
		return out
	}
	t.Fatal("no \"attrsync stopped\" record in the log")
	return nil
}
