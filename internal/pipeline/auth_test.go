package pipeline_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestRevokedKeyStopsAndResumes revokes the API key: the sync must stop
// consuming, report not-ready, log one clear error, dead-letter nothing and
// commit nothing; once the key is accepted again it resumes and delivers
// everything.
func TestRevokedKeyStopsAndResumes(t *testing.T) {
	e := newEnv(t, 2, sim.Options{})
	logs := newLogRecorder()
	e.log = slog.New(logs)
	e.Sim.SetFaults(sim.Faults{RevokeKey: true})
	h := testenv.History(60, 2, 5)
	first, later := h.Msgs[:60], h.Msgs[60:]
	e.Kafka.Produce(topic, first...)
	r := e.start(e.config("g", "retry: {initial_interval: 20ms, max_interval: 200ms}"))

	eventually(t, 30*time.Second, "the pipeline to report not-ready", func() bool {
		ok, _ := r.Pipeline.Ready()
		return !ok
	})
	if _, why := r.Pipeline.Ready(); !strings.Contains(why, "API key") {
		t.Errorf("Ready gives %q, want it to name the API key", why)
	}
	// Messages fetched before the first refusal may still be consumed;
	// after that, nothing more is.
	time.Sleep(300 * time.Millisecond)
	consumed := r.Stats().Consumed
	e.Kafka.Produce(topic, later...)
	time.Sleep(1500 * time.Millisecond)
	if now := r.Stats().Consumed; now != consumed {
		t.Errorf("consumed %d messages while the key was refused (%d before)", now-consumed, consumed)
	}
	if n := r.Stats().DeadLettered; n != 0 {
		t.Errorf("%d messages dead-lettered for an auth failure", n)
	}
	for p, off := range e.Kafka.Committed("g", topic, 2) {
		if off > 0 {
			t.Errorf("partition %d committed up to %d while nothing was delivered", p, off)
		}
	}
	if n := logs.count(slog.LevelError); n != 1 {
		t.Errorf("%d error records logged, want exactly one", n)
	}

	e.Sim.SetFaults(sim.Faults{})
	r.WaitFinished(int64(len(h.Msgs)))
	e.waitCommitted("g")
	if ok, _ := r.Pipeline.Ready(); !ok {
		t.Error("still not ready after the key was accepted again")
	}
	r.Close()
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if classes, _ := e.deadByClass(); len(classes) != 0 {
		t.Errorf("dead letters %v, want none", classes)
	}
}

// TestAuthOutageDoesNotUseUpRetries: time spent waiting for the key to be
// accepted again must not count against retry.max_elapsed, or the first
// transient failure after an auth outage would dead-letter at once.
func TestAuthOutageDoesNotUseUpRetries(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	e.Sim.SetFaults(sim.Faults{RevokeKey: true})
	e.Kafka.Produce(topic, testenv.Upsert(1, testenv.Row{"email": "ann@example.com", "first_name": "Ann", "version": 1}))
	r := e.start(e.config("g", "retry: {initial_interval: 20ms, max_interval: 100ms, max_elapsed: 500ms}"))
	eventually(t, 30*time.Second, "not-ready", func() bool { ok, _ := r.Pipeline.Ready(); return !ok })
	time.Sleep(time.Second) // longer than max_elapsed
	e.Sim.SetFaults(sim.Faults{Burst: 1, BurstStatus: 503, Endpoints: []string{sim.EndpointBulkUpdate}})
	r.WaitFinished(1)
	st := r.Stats()
	r.Close()
	if st.DeadLettered != 0 || st.Accepted != 1 {
		t.Errorf("accepted %d, dead-lettered %d: one 503 after an auth outage must be retried", st.Accepted, st.DeadLettered)
	}
}
