package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

// export sends a user export request, checked against Swagger, and returns
// the status and the lines of a 200 answer.
func export(t *testing.T, base string, q url.Values) (int, []map[string]any) {
	t.Helper()
	if err := swagger.ValidateRequest(swagger.OpExportDataJSON, swagger.Request{Query: q}); err != nil {
		t.Fatalf("test sends a non-conformant request: %v", err)
	}
	r := doReq(t, http.MethodGet, base+"/api/export/data.json?"+q.Encode(), testKey, nil)
	if _, documented := swagger.ResponseDefinition(swagger.OpExportDataJSON, r.status); !documented {
		t.Errorf("status %d is not documented for the export", r.status)
	}
	if r.status != http.StatusOK {
		apiErr(t, r)
		return r.status, nil
	}
	if ct := r.header.Get("Content-Type"); ct != "application/x-json-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("line %q is not a JSON object: %v", sc.Text(), err)
		}
		lines = append(lines, line)
	}
	return r.status, lines
}

func userQuery(start, end string, only ...string) url.Values {
	q := url.Values{"dataTypeName": {"user"}, "startDateTime": {start}, "endDateTime": {end}}
	if len(only) > 0 {
		q["onlyFields"] = only
	}
	return q
}

func TestExportUsersByDateRange(t *testing.T) {
	clock := newFakeClock() // 2025-03-01 12:00:00 UTC
	s, base := newSim(t, Options{Now: clock.Now})
	bulkOK(t, base, users(map[string]any{"email": "first@example.com", "userId": "u1", "dataFields": map[string]any{"plan": "pro"}}))
	clock.Add(time.Hour)
	bulkOK(t, base, users(map[string]any{"userId": "u2", "dataFields": map[string]any{"plan": "free"}}))
	clock.Add(time.Hour)
	bulkOK(t, base, users(map[string]any{"email": "third@example.com", "dataFields": map[string]any{"plan": "free"}}))

	_, lines := export(t, base, userQuery("2025-03-01 12:00:00", "2025-03-01 14:00:00 +00:00", "email", "userId"))
	if len(lines) != 2 || lines[0]["email"] != "first@example.com" || lines[0]["userId"] != "u1" || lines[1]["userId"] != "u2" {
		t.Fatalf("12:00 to 14:00: %v", lines)
	}
	for _, l := range lines {
		if _, ok := l["plan"]; ok {
			t.Errorf("onlyFields ignored: %v", l)
		}
	}
	// The end is exclusive, the start inclusive; zones are honoured.
	if _, lines := export(t, base, userQuery("2025-03-01 14:00:00 +01:00", "2025-03-01 15:00:00 +01:00")); len(lines) != 1 || lines[0]["userId"] != "u2" || lines[0]["plan"] != "free" {
		t.Errorf("13:00 UTC to 14:00 UTC: %v", lines)
	}
	// onlyFields may also be comma separated.
	if _, lines := export(t, base, url.Values{"dataTypeName": {"user"}, "range": {"All"}, "onlyFields": {"email,userId"}}); len(lines) != 3 || len(lines[2]) != 1 {
		t.Errorf("range All: %v", lines)
	}
	// A user updated later moves to a later range (profileUpdatedAt).
	clock.Add(time.Hour)
	bulkOK(t, base, users(map[string]any{"email": "first@example.com", "dataFields": map[string]any{"plan": "max"}}))
	if _, lines := export(t, base, userQuery("2025-03-01 12:00:00", "2025-03-01 13:00:00")); len(lines) != 0 {
		t.Errorf("updated user still in its old range: %v", lines)
	}
	if got := s.Requests(); got[len(got)-1].Endpoint != EndpointExport || got[len(got)-1].Users != 0 {
		t.Errorf("last request recorded as %+v", got[len(got)-1])
	}

	for name, q := range map[string]url.Values{
		"no range":         {"dataTypeName": {"user"}},
		"only a start":     {"dataTypeName": {"user"}, "startDateTime": {"2025-03-01 12:00:00"}},
		"malformed date":   userQuery("2025-03-01T12:00:00Z", "2025-03-02 12:00:00"),
		"another datatype": {"dataTypeName": {"emailSend"}, "range": {"All"}},
	} {
		if status, _ := export(t, base, q); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", name, status)
		}
	}
}

func TestExportBySignupDate(t *testing.T) {
	clock := newFakeClock()
	_, base := newSim(t, Options{Now: clock.Now, ExportBySignupDate: true})
	bulkOK(t, base, users(map[string]any{"email": "a@example.com"}))
	clock.Add(time.Hour)
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"x": 1}}))
	if _, lines := export(t, base, userQuery("2025-03-01 12:00:00", "2025-03-01 12:30:00")); len(lines) != 1 {
		t.Errorf("by signupDate, an update does not move the user: %v", lines)
	}
}

func TestExportRateLimit(t *testing.T) {
	clock := newFakeClock()
	_, base := newSim(t, Options{Now: clock.Now, ExportPerMinute: DefaultExportPerMinute, RateLimitParams: true})
	q := url.Values{"dataTypeName": {"user"}, "range": {"All"}}
	if status, _ := export(t, base, q); status != 200 {
		t.Fatalf("first export: %d", status)
	}
	clock.Add(10 * time.Second)
	r := doReq(t, http.MethodGet, base+"/api/export/data.json?"+q.Encode(), testKey, nil)
	code, params := apiErr(t, r)
	if r.status != 429 || code != "RateLimitExceeded" {
		t.Fatalf("second export 10 s later: %d %s, want 429 at 4 per minute", r.status, code)
	}
	wantReset := clock.Now().Add(5*time.Second - DefaultRateTolerance).UnixMilli()
	if params["rateLimitLimit"] != 4.0 || params["rateLimitRemaining"] != 0.0 || params["rateLimitReset"] != float64(wantReset) {
		t.Errorf("429 params %v, want limit 4, remaining 0, reset %d", params, wantReset)
	}
	clock.Add(5 * time.Second)
	if status, _ := export(t, base, q); status != 200 {
		t.Errorf("export 15 s after the first: %d", status)
	}
}
