package pipeline_test

import (
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestTransientFailuresAreRetried has Iterable fail the first requests with
// each transient status and checks that nothing is lost or dead-lettered:
// every user ends with its last values once Iterable recovers.
func TestTransientFailuresAreRetried(t *testing.T) {
	for _, status := range []int{408, 429, 500, 502, 503, 504} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newEnv(t, 2, sim.Options{})
			e.Sim.SetFaults(sim.Faults{Burst: 4, BurstStatus: status, Endpoints: []string{sim.EndpointBulkUpdate}})
			h := testenv.History(40, 3, uint64(status))
			e.Kafka.Produce(topic, h.Msgs...)
			r := e.start(e.config("g"))
			r.WaitFinished(int64(len(h.Msgs)))
			e.waitCommitted("g")
			st := r.Stats()
			r.Close()

			testenv.CheckProfiles(t, e.Sim, h.Last)
			if got := e.Sim.Stats().Requests[sim.EndpointBulkUpdate][status]; got != 4 {
				t.Errorf("simulator answered %d requests with %d, want the 4 injected", got, status)
			}
			if st.Retries < 4 || st.DeadLettered != 0 {
				t.Errorf("retries %d, dead letters %d: want ≥ 4 retries and nothing dead-lettered", st.Retries, st.DeadLettered)
			}
		})
	}
}

// TestNetworkErrorsAreRetried drops the connection of the first requests
// without an answer.
func TestNetworkErrorsAreRetried(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	e.WrapIterable(firstN(3, func(w http.ResponseWriter, _ *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	h := testenv.History(20, 2, 11)
	e.Kafka.Produce(topic, h.Msgs...)
	r := e.start(e.config("g"))
	r.WaitFinished(int64(len(h.Msgs)))
	st := r.Stats()
	r.Close()
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if st.RequestsByStatus[0] < 3 || st.DeadLettered != 0 {
		t.Errorf("requests without an answer %d, dead letters %d: want ≥ 3 and 0", st.RequestsByStatus[0], st.DeadLettered)
	}
}

// TestRetryAfterIsHonoured answers the first request 503 with Retry-After:
// 2 while the configured backoff is 20 ms: the retry must wait the 2 s.
func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	var refusedAt time.Time
	e.WrapIterable(firstN(1, func(w http.ResponseWriter, _ *http.Request) {
		refusedAt = time.Now()
		w.Header().Set("Retry-After", "2")
		http.Error(w, `{"msg":"busy","code":"GenericError"}`, http.StatusServiceUnavailable)
	}))
	e.Kafka.Produce(topic, testenv.Upsert(1, testenv.Row{"email": "ann@example.com", "first_name": "Ann", "version": 1}))
	r := e.start(e.config("g"))
	r.WaitFinished(1)
	r.Close()
	reqs := testenv.BulkRequests(e.Sim)
	if len(reqs) != 1 || reqs[0].Status != 200 {
		t.Fatalf("simulator saw %d bulkUpdate requests, want the 1 retry accepted", len(reqs))
	}
	// Request times are the simulator's arrival times; the refusal was
	// stamped before answering, so the gap can only be shorter than the wait.
	if gap := reqs[0].Time.Sub(refusedAt); gap < 1900*time.Millisecond {
		t.Errorf("retried %s after a 503 with Retry-After: 2, want ≥ 2s", gap)
	}
}

// TestRetriesExhaustedAreDeadLettered sets retry.max_elapsed and keeps
// Iterable failing: the users are dead-lettered with class
// retries_exhausted, their offsets committed, and the sync goes on.
func TestRetriesExhaustedAreDeadLettered(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	e.Sim.SetFaults(sim.Faults{ErrorRate: 1, ErrorStatus: 502})
	msgs := []change.Message{
		testenv.Upsert(1, testenv.Row{"email": "a@example.com", "first_name": "A", "version": 1}),
		testenv.Upsert(2, testenv.Row{"email": "b@example.com", "first_name": "B", "version": 1}),
	}
	e.Kafka.Produce(topic, msgs...)
	r := e.start(e.config("g", "retry: {initial_interval: 20ms, max_interval: 100ms, max_elapsed: 400ms}"))
	r.WaitFinished(2)
	e.waitCommitted("g")

	classes, dead := e.deadByClass()
	if classes[change.ClassRetriesExhausted] != 2 || len(dead) != 2 {
		t.Fatalf("dead letters by class %v, want 2 retries_exhausted", classes)
	}
	for _, d := range dead {
		f, _ := dlq.Failure(d)
		if f.HTTPStatus != 502 || f.Attempts < 2 {
			t.Errorf("dead letter failure %+v, want http_status 502 after several attempts", f)
		}
	}
	// Iterable recovers: the next change of a user is delivered.
	e.Sim.SetFaults(sim.Faults{})
	e.Kafka.Produce(topic, testenv.Upsert(1, testenv.Row{"email": "a@example.com", "first_name": "A2", "version": 2}))
	r.WaitFinished(3)
	r.Close()
	if p, _ := e.Sim.Profile("a@example.com"); p.DataFields["firstName"] != "A2" {
		t.Errorf("after recovery a@example.com has firstName %v, want A2", p.DataFields["firstName"])
	}
}

// TestPermanentFailuresAreDeadLettered answers a permanent status to the
// whole request: its users are dead-lettered with class iterable_rejected
// and the status, without retries.
func TestPermanentFailuresAreDeadLettered(t *testing.T) {
	for _, status := range []int{400, 404, 413, 501} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e := newEnv(t, 1, sim.Options{})
			e.Sim.SetFaults(sim.Faults{ErrorRate: 1, ErrorStatus: status})
			msgs := []change.Message{
				testenv.Upsert(1, testenv.Row{"email": "a@example.com", "first_name": "A", "version": 1}),
				testenv.Upsert(2, testenv.Row{"email": "b@example.com", "first_name": "B", "version": 1}),
			}
			e.Kafka.Produce(topic, msgs...)
			r := e.start(e.config("g", "batch: {max_users: 50, max_wait: 300ms}"))
			r.WaitFinished(2)
			e.waitCommitted("g")
			st := r.Stats()
			r.Close()
			_, dead := e.deadByClass()
			if len(dead) != 2 {
				t.Fatalf("%d dead letters, want both users' messages", len(dead))
			}
			for _, d := range dead {
				f, _ := dlq.Failure(d)
				hs, _ := d.Header(dlq.HeaderHTTPStatus)
				if f.Class != change.ClassRejected || string(hs) != fmt.Sprint(status) {
					t.Errorf("dead letter failure %+v, http_status header %q: want iterable_rejected with %d", f, hs, status)
				}
			}
			if st.Retries != 0 {
				t.Errorf("a permanent %d was retried %d times", status, st.Retries)
			}
		})
	}
}
