package sim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

func TestGetFieldsAnswersTheTypeLocks(t *testing.T) {
	_, base := newSim(t, Options{})
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{
		"age": 41, "score": 1.5, "vip": true, "plan": map[string]any{"tier": "pro"},
		"signedUpAt": "2024-01-02 03:04:05 +00:00", "tags": []any{"x"},
	}}))
	if err := swagger.ValidateRequest(swagger.OpGetUserFields, swagger.Request{}); err != nil {
		t.Fatal(err)
	}
	r := doReq(t, http.MethodGet, base+"/api/users/getFields", testKey, nil)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	conform(t, swagger.GetUserFieldsResponse, r.body)
	var got struct {
		Fields map[string]string `json:"fields"`
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"age": "long", "score": "double", "vip": "boolean", "plan": "object", "plan.tier": "string",
		"signedUpAt": "date", "tags": "string",
	}
	if len(got.Fields) != len(want) {
		t.Errorf("fields %v, want %v", got.Fields, want)
	}
	for k, v := range want {
		if got.Fields[k] != v {
			t.Errorf("field %s: %q, want %q", k, got.Fields[k], v)
		}
	}
}

func TestGetFieldsRateLimit(t *testing.T) {
	clock := newFakeClock()
	s, base := newSim(t, Options{GetFieldsPerSecond: DefaultGetFieldsPerSecond, Now: clock.Now})
	statuses := map[int]int{}
	for range 4 {
		statuses[doReq(t, http.MethodGet, base+"/api/users/getFields", testKey, nil).status]++
	}
	if statuses[http.StatusOK] != 1 || statuses[http.StatusTooManyRequests] != 3 {
		t.Errorf("4 requests at one instant: %v, want one admitted at 3/s", statuses)
	}
	clock.Add(340 * time.Millisecond)
	if r := doReq(t, http.MethodGet, base+"/api/users/getFields", testKey, nil); r.status != http.StatusOK {
		t.Errorf("a third of a second later: %d", r.status)
	}
	if got := s.Stats().Requests[EndpointGetFields][http.StatusTooManyRequests]; got != 3 {
		t.Errorf("recorded %d 429s for getFields", got)
	}
}
