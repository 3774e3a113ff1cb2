package pipeline_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestOutagePausesConsumption keeps Iterable failing while far more
// messages wait than batch.max_held_bytes lets a process hold: consumption
// must stop at that bound (memory stays bounded), the process must idle
// rather than spin while it waits, and everything is delivered once
// Iterable recovers.
func TestOutagePausesConsumption(t *testing.T) {
	if testing.Short() {
		t.Skip("produces 25,000 messages")
	}
	const total = 25000
	e := newEnv(t, 2, sim.Options{BulkUpdatePerSecond: -1})
	e.Sim.SetFaults(sim.Faults{ErrorRate: 1, ErrorStatus: 503})
	msgs := make([]change.Message, total)
	for i := range msgs {
		msgs[i] = testenv.Upsert(i, testenv.Row{"email": fmt.Sprintf("u%05d@example.com", i), "first_name": "N", "version": 1})
	}
	e.Kafka.Produce(topic, msgs...)
	const maxHeld = 4 << 20
	r := e.start(e.config("g",
		fmt.Sprintf("batch: {max_users: 500, max_wait: 20ms, max_held_bytes: %d}", maxHeld),
		"rate_limit: {bulk_update_per_second: 1000, scope: local}"))

	// Wait until consumption has stopped growing.
	var consumed int64 = -1
	eventually(t, 60*time.Second, "consumption to stop", func() bool {
		now := r.Stats().Consumed
		stable := now == consumed && now > 0
		consumed = now
		time.Sleep(500 * time.Millisecond)
		return stable
	})
	if consumed >= total {
		t.Fatalf("consumed all %d messages while Iterable was down: consumption never paused", total)
	}
	// Each held message counts its bytes and at least 640 more against
	// max_held_bytes, wherever it is: coalescing, queued or retrying.
	if consumed > maxHeld/640 {
		t.Fatalf("%d messages held with max_held_bytes %d: the budget does not bound them", consumed, maxHeld)
	}

	// A busy loop would burn a core for the whole window.
	before := cpuTime(t)
	window := 2 * time.Second
	time.Sleep(window)
	if used := cpuTime(t) - before; used > window/2 {
		t.Errorf("the process used %s of CPU in %s while waiting for Iterable", used, window)
	}
	if now := r.Stats().Consumed; now != consumed {
		t.Errorf("consumption went on while paused: %d → %d", consumed, now)
	}

	e.Sim.SetFaults(sim.Faults{})
	r.WaitFinished(total)
	e.waitCommitted("g")
	st := r.Stats()
	r.Close()
	if st.Accepted != total || st.DeadLettered != 0 {
		t.Errorf("accepted %d, dead-lettered %d of %d", st.Accepted, st.DeadLettered, total)
	}
}

func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
