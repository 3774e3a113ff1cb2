package telemetry_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// waitReady polls /readyz until it answers want, and returns its body.
func (r *rig) waitReady(want int) string {
	r.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := r.get("/readyz")
		if code == want {
			return body
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("/readyz still answers %d, want %d:\n%s", code, want, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestReadyzFollowsIterableAuth: /readyz is ready once the group is
// joined, turns 503 naming the API key when Iterable answers 401, and
// recovers when the key is accepted again; /healthz stays 200 throughout.
func TestReadyzFollowsIterableAuth(t *testing.T) {
	r := newRig(t, 1, sim.Options{})
	r.start(r.config())
	body := r.waitReady(http.StatusOK)
	for _, want := range []string{"kafka: ok", "redis: ok", "iterable: ok"} {
		if !strings.Contains(body, want) {
			t.Errorf("/readyz body lacks %q:\n%s", want, body)
		}
	}

	r.Sim.SetFaults(sim.Faults{RevokeKey: true})
	r.Kafka.Produce(topic, testenv.Upsert(1, row(1, "ann@example.com", "Ann", 1)))
	body = r.waitReady(http.StatusServiceUnavailable)
	if !strings.Contains(body, "iterable: not ready") || !strings.Contains(body, "API key") {
		t.Errorf("/readyz body does not say Iterable refuses the key:\n%s", body)
	}
	if code, _ := r.get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz answers %d while not ready; the process is alive", code)
	}
	if n := r.sys.Stats().DeadLettered; n != 0 {
		t.Errorf("%d messages dead-lettered for an auth failure", n)
	}

	r.Sim.SetFaults(sim.Faults{})
	r.waitReady(http.StatusOK)
	r.waitFinished(1)
	if _, ok := r.Sim.Profile("ann@example.com"); !ok {
		t.Error("the change held during the auth failure never reached Iterable")
	}
}

// TestReadyzReportsRedisDown: with Redis stopped, /readyz says so.
func TestReadyzReportsRedisDown(t *testing.T) {
	r := newRig(t, 1, sim.Options{})
	r.start(r.config())
	r.waitReady(http.StatusOK)
	r.Redis.Stop()
	body := r.waitReady(http.StatusServiceUnavailable)
	if !strings.Contains(body, "redis: not ready") {
		t.Errorf("/readyz body does not blame Redis:\n%s", body)
	}
	r.Redis.Start()
	r.waitReady(http.StatusOK)
}
