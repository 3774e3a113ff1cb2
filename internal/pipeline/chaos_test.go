package pipeline_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/attrsync/attrsync/internal/testenv/testapp"
)

// TestChaos runs a stream through failure scenarios. Each ends with
// Iterable holding every user's last values, no order regression, and every
// consumed message accounted for (accepted + unchanged + stale + skipped +
// absent + dead-lettered = consumed). Users Iterable refuses (GDPR-forgotten,
// one in every batch) are dead-lettered with each of their messages.
// Process restarts (SIGKILL) are in internal/e2e.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos scenarios take tens of seconds")
	}
	scenarios := []struct {
		name   string
		during func(e *env, r *testapp.Sync) // runs once part of the stream is done
	}{
		{"30% 5xx with latency spikes", func(e *env, _ *testapp.Sync) {
			e.Sim.SetFaults(sim.Faults{ErrorRate: 0.3, ErrorStatus: 503, SpikeRate: 0.1, Spike: 3 * time.Second})
		}},
		{"429 storms", func(e *env, _ *testapp.Sync) {
			for range 3 {
				e.Sim.SetFaults(sim.Faults{Burst: 15, BurstStatus: 429})
				time.Sleep(time.Second)
			}
		}},
		{"redis-server killed and restarted empty", func(e *env, _ *testapp.Sync) {
			e.Redis.Stop()
			time.Sleep(time.Second)
			e.Redis.Start()
		}},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := newEnv(t, 4, sim.Options{BulkUpdatePerSecond: 20})
			h := testenv.History(200, 5, uint64(100+i))
			forgotten, deadMsgs := forgetEveryNth(e.Sim, h, 25)
			e.Kafka.Produce(topic, h.Msgs...)
			r := e.start(e.config("chaos", "batch: {max_users: 20, max_wait: 20ms}",
				"rate_limit: {bulk_update_per_second: 20, scope: global}"))
			r.WaitFinished(int64(len(h.Msgs)) / 5)
			sc.during(e, r)
			e.Sim.SetFaults(sim.Faults{})
			r.WaitFinished(int64(len(h.Msgs)))
			e.waitCommitted("chaos")
			st := r.Stats()
			r.Close()

			want := map[string]testenv.Row{}
			for email, row := range h.Last {
				if !forgotten[email] {
					want[email] = row
				}
			}
			testenv.CheckProfiles(t, e.Sim, want)
			sum := st.Accepted + st.Unchanged + st.Stale + st.Skipped + st.Absent + st.DeadLettered
			if st.Consumed != int64(len(h.Msgs)) || sum != st.Consumed {
				t.Errorf("produced %d, consumed %d, accounted for %d", len(h.Msgs), st.Consumed, sum)
			}
			classes, _ := e.deadByClass()
			if classes[change.ClassRejected] != deadMsgs || len(classes) != 1 {
				t.Errorf("dead letters %v, want %d iterable_rejected (the forgotten users' messages)", classes, deadMsgs)
			}
		})
	}
}

// forgetEveryNth makes Iterable refuse every nth user of h, and returns
// them and how many messages they have.
func forgetEveryNth(s *sim.Server, h testenv.Stream, n int) (map[string]bool, int) {
	forgotten := map[string]bool{}
	for u := 0; u < len(h.Last); u += n {
		email := strings.ToLower(fmt.Sprintf("User%04d@Example.com", u))
		s.Forget(email)
		forgotten[email] = true
	}
	msgs := 0
	for _, m := range h.Msgs {
		if forgotten[emailOfLower(m.Value)] {
			msgs++
		}
	}
	return forgotten, msgs
}

func emailOfLower(value []byte) string { return strings.ToLower(emailOf(value)) }
