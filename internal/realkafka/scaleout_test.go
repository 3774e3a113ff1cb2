package realkafka

import (
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestScaleOutWithRebalances runs the sync as a consumer group on a real
// broker while the stream is being produced: three processes share a
// 12-partition topic, a fourth joins, one of the first three is SIGKILLed.
// Afterwards Iterable holds every user's last values with no older value
// ever overwriting a newer one, the group has committed every end offset,
// and the global rate limit held across all four processes: the simulator
// enforces the same rate and answered no 429.
func TestScaleOutWithRebalances(t *testing.T) {
	const (
		parts    = 12
		users    = 300
		versions = 8
		rate     = 10
	)
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: rate})
	h := testenv.History(users, versions, 11)
	cfg := e.writeConfig("scale.yaml", syncConfig{bulkPerSecond: rate, maxUsers: 20})

	procs := []*testenv.Proc{e.startProc("run", "-c", cfg), e.startProc("run", "-c", cfg), e.startProc("run", "-c", cfg)}

	// The history is produced one version of every user at a time, a few
	// seconds apart, so the group changes while messages keep arriving.
	// Each user's events stay in order on its partition.
	for v := range versions {
		e.Kafka.Produce(e.Topic, h.Msgs[v*users:(v+1)*users]...)
		switch v {
		case 2:
			procs = append(procs, e.startProc("run", "-c", cfg))
		case 4:
			procs[0].Kill(t)
		}
		time.Sleep(3 * time.Second)
	}

	testenv.WaitFor(t, 90*time.Second, "the group to commit every end offset", func() bool { return e.caughtUp(parts) })
	for _, p := range procs[1:] {
		if code := p.Stop(t, stopWithin); code != 0 {
			t.Errorf("attrsync exited %d after SIGTERM, want 0", code)
		}
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if lag := e.lag(parts); lag != 0 {
		t.Errorf("group lag %d after the run, want 0", lag)
	}
	st := e.Sim.Stats()
	if st.TooManyRequests != 0 {
		t.Errorf("Iterable answered 429 %d times: four processes together exceeded the global rate of %d/s", st.TooManyRequests, rate)
	}
	if len(testenv.BulkRequests(e.Sim)) == 0 {
		t.Error("no bulkUpdate request was made")
	}
}
