package sim

import (
	"net/http"
	"strings"
	"testing"
)

// TestFaultRefuseValue: a request carrying the refused value anywhere in a
// user's dataFields is answered 400 as a whole, Iterable-style, and changes
// nothing; the same request without that user goes through.
func TestFaultRefuseValue(t *testing.T) {
	for _, code := range []string{"", "BadJsonBody"} {
		s, base := newSim(t, Options{})
		const bad = "+1 555 0100 4242"
		// Set through the admin endpoint, as the iterable-sim binary is.
		admin(t, "POST", base+"/_sim/faults", string(mustJSON(t, Faults{RefuseValue: bad, RefuseCode: code})))
		if f := s.CurrentFaults(); f.RefuseValue != bad || f.RefuseCode != code {
			t.Fatalf("faults after POST /_sim/faults: %+v", f)
		}
		ok := map[string]any{"email": "ok@example.com", "dataFields": map[string]any{"phone": "+1 555 0199"}}
		nested := map[string]any{"email": "bad@example.com", "dataFields": map[string]any{"contact": map[string]any{"phones": []any{bad}}}}

		r := bulk(t, base, users(ok, nested))
		if r.status != http.StatusBadRequest {
			t.Fatalf("status %d, want 400: %s", r.status, r.body)
		}
		got, params := apiErr(t, r) // conforms to IterableApiResponse
		want := code
		if want == "" {
			want = "BadParams"
		}
		if got != want || params["obj.users[1].dataFields.contact"] == nil {
			t.Errorf("code %s, params %v; want %s naming obj.users[1].dataFields.contact", got, params, want)
		}
		if !strings.Contains(string(r.body), bad) {
			t.Errorf("the answer does not quote the value: %s", r.body)
		}
		if n := len(s.Profiles()); n != 0 {
			t.Errorf("a refused request changed %d profiles", n)
		}
		if f := s.Requests()[0].Fault; f != "refuse-value" {
			t.Errorf("recorded fault %q", f)
		}
		bulkOK(t, base, users(ok))
		if _, found := s.Profile("ok@example.com"); !found {
			t.Error("the request without the refused value was not applied")
		}
	}
}
