package realkafka

import (
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestReplayRacingALaggingLiveSync is the case that once left Iterable with
// older values: `attrsync replay --from earliest` runs beside a live sync
// that is still catching up (2,000 users, 20,000 changing events produced
// over ~8 s, Iterable answering in 300 ms). Both work on the same users at
// once; state is written forward-only and neither sends for a user while
// the other's request for it is out, so no write ever lowers a user's
// version and every profile ends with its newest values.
func TestReplayRacingALaggingLiveSync(t *testing.T) {
	const parts = 6
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: -1})
	e.Sim.SetFaults(sim.Faults{Latency: 300 * time.Millisecond})
	h := testenv.History(2000, 10, 43)
	cfg := e.writeConfig("race.yaml", syncConfig{bulkPerSecond: 10, maxUsers: 100}) // slower than the stream arrives

	var produced sync.WaitGroup
	produced.Go(func() {
		const chunks = 16
		per := len(h.Msgs) / chunks
		for i := 0; i < len(h.Msgs); i += per {
			e.Kafka.Produce(e.Topic, h.Msgs[i:min(i+per, len(h.Msgs))]...)
			time.Sleep(500 * time.Millisecond)
		}
	})
	live := e.startProc("run", "-c", cfg)
	time.Sleep(3 * time.Second)
	replay := e.startProc("replay", "-c", cfg, "--from", "earliest")
	if code := replay.Wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("replay exited %d\n%s", code, replay.Output(t))
	}
	produced.Wait()
	testenv.WaitFor(t, 3*time.Minute, "the live sync to catch up", func() bool { return e.caughtUp(parts) })
	if code := live.Stop(t, stopWithin); code != 0 {
		t.Errorf("the live sync exited %d after SIGTERM", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if n := testenv.ReplaySummaryCount(t, replay.Output(t), "sent users"); n == 0 {
		t.Error("the replay sent nothing: it did not race the live sync")
	}
}
