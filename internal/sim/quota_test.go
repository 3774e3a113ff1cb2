package sim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

// paced sends n bulkUpdate requests every interval on the fake clock and
// counts the 429s.
func paced(t *testing.T, clock *fakeClock, base string, n int, interval time.Duration) (refused int) {
	t.Helper()
	body := users(map[string]any{"email": "a@example.com"})
	for range n {
		clock.Add(interval)
		if r := bulk(t, base, body); r.status == http.StatusTooManyRequests {
			refused++
		}
	}
	return refused
}

func TestTakeQuotaLeavesTheRest(t *testing.T) {
	clock := newFakeClock()
	s, base := newSim(t, Options{Now: clock.Now, BulkUpdatePerSecond: DefaultBulkUpdatePerSecond})
	if err := s.TakeQuota(EndpointBulkUpdate, 2); err != nil {
		t.Fatal(err)
	}
	// Another client takes 2 of 5/s: 3/s is left.
	if n := paced(t, clock, base, 30, time.Second/3+time.Millisecond); n != 0 {
		t.Errorf("pacing at 3/s beside a client taking 2/s: %d × 429", n)
	}
	if n := paced(t, clock, base, 30, time.Second/4); n < 5 {
		t.Errorf("pacing at 4/s beside a client taking 2/s: only %d × 429", n)
	}
	// When it stops, the whole 5/s is there again.
	if err := s.TakeQuota(EndpointBulkUpdate, 0); err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second)
	if n := paced(t, clock, base, 30, time.Second/5); n != 0 {
		t.Errorf("pacing at 5/s alone: %d × 429", n)
	}
	if len(s.QuotaTaken()) != 0 {
		t.Errorf("QuotaTaken = %v after stopping", s.QuotaTaken())
	}

	for name, err := range map[string]error{
		"unknown endpoint": s.TakeQuota("nope", 1),
		"above the limit":  s.TakeQuota(EndpointBulkUpdate, 6),
		"negative":         s.TakeQuota(EndpointBulkUpdate, -1),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := New(Options{APIKey: testKey, BulkUpdatePerSecond: -1}).TakeQuota(EndpointBulkUpdate, 1); err == nil {
		t.Error("quota taken from an unlimited endpoint")
	}
}

func TestQuotaAdminEndpoint(t *testing.T) {
	s, base := newSim(t, Options{BulkUpdatePerSecond: DefaultBulkUpdatePerSecond})
	r := doReq(t, http.MethodPost, base+"/_sim/quota", "", []byte(`{"endpoint":"bulkUpdate","perSecond":2}`))
	if r.status != http.StatusOK {
		t.Fatalf("POST /_sim/quota: %d %s", r.status, r.body)
	}
	r = doReq(t, http.MethodGet, base+"/_sim/quota", "", nil)
	var got map[string]float64
	if err := json.Unmarshal(r.body, &got); err != nil || got[EndpointBulkUpdate] != 2 {
		t.Errorf("GET /_sim/quota: %s", r.body)
	}
	if s.QuotaTaken()[EndpointBulkUpdate] != 2 {
		t.Errorf("QuotaTaken = %v", s.QuotaTaken())
	}
	if r := doReq(t, http.MethodPost, base+"/_sim/quota", "", []byte(`{"endpoint":"bulkUpdate","perSecond":9}`)); r.status != http.StatusBadRequest {
		t.Errorf("taking more than the limit: %d", r.status)
	}
	s.Reset()
	if len(s.QuotaTaken()) != 0 {
		t.Errorf("Reset kept %v", s.QuotaTaken())
	}
}
