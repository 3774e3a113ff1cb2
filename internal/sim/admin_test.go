package sim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

func admin(t *testing.T, method, url, body string) response {
	t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return doReq(t, method, url, "", b) // no API key: admin endpoints need none
}

func decodeInto(t *testing.T, r response, v any) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func TestAdminEndpoints(t *testing.T) {
	s, base := newSim(t, Options{})

	decodeInto(t, admin(t, "POST", base+"/_sim/seed",
		`{"email":"Seed@Example.com","userId":"s1","dataFields":{"n":1,"tags":["a"]}}`), &struct{}{})
	if r := admin(t, "POST", base+"/_sim/seed", `{"email":"bad","dataFields":{}}`); r.status != http.StatusBadRequest {
		t.Errorf("seeding an invalid email: %d", r.status)
	}
	if r := admin(t, "POST", base+"/_sim/seed", `{"userId":"s2","dataFields":{"n":"x"}}`); r.status != http.StatusBadRequest {
		t.Errorf("seeding a type conflict: %d %s", r.status, r.body)
	}

	var profiles map[string]Profile
	decodeInto(t, admin(t, "GET", base+"/_sim/profiles", ""), &profiles)
	p, ok := profiles["seed@example.com"]
	if !ok || p.UserID != "s1" || p.DataFields["n"] != 1.0 || p.UpdatedCount != 0 {
		t.Fatalf("profiles %+v", profiles)
	}
	var one Profile
	decodeInto(t, admin(t, "GET", base+"/_sim/profiles/s1", ""), &one)
	if one.Email != "seed@example.com" {
		t.Errorf("profile by userId %+v", one)
	}
	if r := admin(t, "GET", base+"/_sim/profiles/nobody", ""); r.status != http.StatusNotFound {
		t.Errorf("absent profile: %d", r.status)
	}
	var fields map[string]FieldType
	decodeInto(t, admin(t, "GET", base+"/_sim/fields", ""), &fields)
	if want := map[string]FieldType{"n": TypeLong, "tags": TypeString}; !reflect.DeepEqual(fields, want) {
		t.Errorf("fields %v, want %v", fields, want)
	}

	// Faults take duration strings and round-trip.
	var f Faults
	decodeInto(t, admin(t, "POST", base+"/_sim/faults", `{"burst":2,"burstStatus":500,"latency":"1ms","endpoints":["bulkUpdate"]}`), &f)
	want := Faults{Burst: 2, BurstStatus: 500, Latency: time.Millisecond, Endpoints: []string{EndpointBulkUpdate}}
	if !reflect.DeepEqual(f, want) || !reflect.DeepEqual(s.CurrentFaults(), want) {
		t.Errorf("faults %+v / %+v, want %+v", f, s.CurrentFaults(), want)
	}
	if r := admin(t, "POST", base+"/_sim/faults", `{"brust":2}`); r.status != http.StatusBadRequest {
		t.Errorf("misspelt fault accepted: %d", r.status)
	}
	bulk(t, base, users(map[string]any{"email": "x@example.com"}))
	var fNow Faults
	decodeInto(t, admin(t, "GET", base+"/_sim/faults", ""), &fNow)
	if fNow.Burst != 1 {
		t.Errorf("burst left %d", fNow.Burst)
	}
	admin(t, "POST", base+"/_sim/faults", `{}`)

	decodeInto(t, admin(t, "POST", base+"/_sim/forget", `{"id":"s1"}`), &struct{}{})
	if _, ok := s.Profile("seed@example.com"); ok {
		t.Error("forget did not delete")
	}

	var reqs []Request
	decodeInto(t, admin(t, "GET", base+"/_sim/requests", ""), &reqs)
	if len(reqs) != 1 || reqs[0].Endpoint != EndpointBulkUpdate || reqs[0].Status != 500 || reqs[0].Fault != "burst" {
		t.Errorf("requests %+v", reqs)
	}
	var st Stats
	decodeInto(t, admin(t, "GET", base+"/_sim/stats", ""), &st)
	if st.Requests[EndpointBulkUpdate][500] != 1 {
		t.Errorf("stats %+v", st)
	}

	decodeInto(t, admin(t, "POST", base+"/_sim/reset", ""), &struct{}{})
	if len(s.Profiles()) != 0 || len(s.Requests()) != 0 || len(s.Fields()) != 0 {
		t.Error("reset left state behind")
	}
	if r := admin(t, "GET", base+"/_sim/nope", ""); r.status != http.StatusNotFound {
		t.Errorf("unknown admin endpoint: %d", r.status)
	}
}

func TestWriteProfiles(t *testing.T) {
	s, _ := newSim(t, Options{})
	if err := s.SeedUser("", "id-1", map[string]any{"when": "2024-05-06T07:08:09Z"}); err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	if err := s.WriteProfiles(&sb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), `"when": "2024-05-06 07:08:09 +00:00"`) {
		t.Errorf("dump %s", sb.String())
	}
}

func TestSeedForgotten(t *testing.T) {
	s, _ := newSim(t, Options{})
	s.Forget("gone@example.com")
	if err := s.SeedUser("gone@example.com", "", nil); err == nil {
		t.Error("seeding a forgotten user succeeded")
	}
}
