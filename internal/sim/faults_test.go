package sim

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

func TestFaultBurst(t *testing.T) {
	s, base := newSim(t, Options{})
	body := users(map[string]any{"email": "a@example.com"})
	s.SetFaults(Faults{Burst: 3, BurstStatus: 502})
	for i := range 3 {
		r := bulk(t, base, body)
		if r.status != http.StatusBadGateway {
			t.Fatalf("request %d: status %d, want 502", i, r.status)
		}
		conform(t, swagger.IterableApiResponse, r.body)
		if left := s.CurrentFaults().Burst; left != 2-i {
			t.Errorf("burst left %d, want %d", left, 2-i)
		}
	}
	if r := bulk(t, base, body); r.status != http.StatusOK {
		t.Fatalf("after the burst: status %d", r.status)
	}
	if len(s.Profiles()) != 1 {
		t.Errorf("profiles %v", keys(s.Profiles()))
	}
	if f := s.Requests()[0].Fault; f != "burst" {
		t.Errorf("recorded fault %q", f)
	}

	s.SetFaults(Faults{Burst: 1, BurstStatus: http.StatusTooManyRequests})
	r := bulk(t, base, body)
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("status %d", r.status)
	}
	if code, _ := apiErr(t, r); code != "RateLimitExceeded" {
		t.Errorf("code %s", code)
	}
	if st := s.Stats(); st.TooManyRequests != 1 || st.RateLimited != 0 {
		t.Errorf("an injected 429 counted as rate limiting: %+v", st)
	}
}

func TestFaultErrorRate(t *testing.T) {
	s, base := newSim(t, Options{Seed: 42})
	path := "/api/users/getByEmail?email=a@example.com"

	s.SetFaults(Faults{ErrorRate: 1, ErrorStatus: 500})
	for range 5 {
		if r := lookup(t, base, path); r.status != http.StatusInternalServerError {
			t.Fatalf("status %d at error rate 1", r.status)
		}
	}
	s.SetFaults(Faults{ErrorRate: 0.5})
	failed := 0
	const n = 200
	for range n {
		switch r := lookup(t, base, path); r.status {
		case http.StatusServiceUnavailable:
			failed++
		case http.StatusOK:
		default:
			t.Fatalf("status %d", r.status)
		}
	}
	if failed < n/5 || failed > n*4/5 {
		t.Errorf("%d of %d failed at error rate 0.5", failed, n)
	}
	s.SetFaults(Faults{})
	if r := lookup(t, base, path); r.status != http.StatusOK {
		t.Errorf("after clearing faults: %d", r.status)
	}
}

func TestFaultEndpointsFilter(t *testing.T) {
	s, base := newSim(t, Options{})
	s.SetFaults(Faults{ErrorRate: 1, Endpoints: []string{EndpointBulkUpdate}})
	if r := lookup(t, base, "/api/users/getByEmail?email=a@example.com"); r.status != http.StatusOK {
		t.Errorf("lookup faulted: %d", r.status)
	}
	if r := bulk(t, base, users(map[string]any{"email": "a@example.com"})); r.status != http.StatusServiceUnavailable {
		t.Errorf("bulkUpdate not faulted: %d", r.status)
	}
}

func TestFaultRevokedKey(t *testing.T) {
	s, base := newSim(t, Options{})
	s.SetFaults(Faults{RevokeKey: true})
	r := bulk(t, base, users(map[string]any{"email": "a@example.com"}))
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d", r.status)
	}
	if code, _ := apiErr(t, r); code != "BadApiKey" {
		t.Errorf("code %s", code)
	}
	if len(s.Profiles()) != 0 {
		t.Error("applied with a revoked key")
	}
}

func TestFaultLatency(t *testing.T) {
	s, base := newSim(t, Options{})
	s.SetFaults(Faults{Latency: 60 * time.Millisecond})
	start := time.Now()
	lookup(t, base, "/api/users/getByEmail?email=a@example.com")
	if d := time.Since(start); d < 60*time.Millisecond {
		t.Errorf("answered after %v, want ≥ 60ms", d)
	}

	// A client that gives up during the delay is recorded as 499, and the
	// request has no effect.
	s.SetFaults(Faults{Latency: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/users/bulkUpdate", nil)
	req.Header.Set("Api-Key", testKey)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatal("request completed despite the latency")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		reqs := s.Requests()
		if len(reqs) == 2 {
			if reqs[1].Status != statusClientClosed {
				t.Errorf("recorded %+v", reqs[1])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("abandoned request not recorded: %+v", reqs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Run with -race: concurrent requests, fault changes and reads.
func TestConcurrentUse(t *testing.T) {
	s, base := newSim(t, Options{VersionField: "v"})
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Go(func() {
			for i := range 15 {
				r := bulk(t, base, users(
					map[string]any{"userId": "shared", "dataFields": map[string]any{"n": i}},
					map[string]any{"userId": "own-" + string(rune('a'+g)), "dataFields": map[string]any{"n": i}},
				))
				if r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
					t.Errorf("status %d", r.status)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range 30 {
			s.SetFaults(Faults{ErrorRate: float64(i%2) * 0.2})
			_ = s.Profiles()
			_ = s.Stats()
			_ = s.Requests()
			_ = s.CurrentFaults()
		}
	})
	wg.Wait()
	if n := len(s.Profiles()); n != 7 {
		t.Errorf("%d profiles, want 7", n)
	}
	if n := len(s.Requests()); n != 90 {
		t.Errorf("%d requests recorded, want 90", n)
	}
}
