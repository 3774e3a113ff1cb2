package iterable

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
)

func newSim(t *testing.T) (*sim.Server, *Client) {
	t.Helper()
	s := sim.New(sim.Options{APIKey: testKey, BulkUpdatePerSecond: -1, LookupPerSecond: -1})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, New(srv.URL, testKey)
}

// TestInvalidRequestIsRecognisedAndQuietAboutValues: a whole-request 400
// BadParams or BadJsonBody is told apart from the other 4xx (so the caller
// can narrow it down by splitting), and Iterable's message, which quotes
// the value, stays out of Error() (logged) while Detail carries it (for the
// dead letter).
func TestInvalidRequestIsRecognisedAndQuietAboutValues(t *testing.T) {
	t.Parallel()
	const phone = "+1 555 0100 4242"
	req := BulkRequest{CreateNewFields: true, Users: []User{
		{ID: email("ann@example.com"), Fields: []change.Attr{attr("phone", `"+1 555 0199"`)}},
		{ID: email("bob@example.com"), Fields: []change.Attr{attr("phone", `"`+phone+`"`)}},
	}}
	for _, code := range []string{CodeBadParams, CodeBadJSONBody} {
		s, c := newSim(t)
		s.SetFaults(sim.Faults{RefuseValue: phone, RefuseCode: code})
		_, err := c.BulkUpdate(t.Context(), req)
		if !IsInvalidRequest(err) {
			t.Fatalf("%s: IsInvalidRequest(%v) = false", code, err)
		}
		if IsTransient(err) || IsAuth(err) {
			t.Errorf("%s: classified as transient or auth as well", code)
		}
		if _, mismatch := IsTypeMismatch(err); mismatch {
			t.Errorf("%s: classified as a type mismatch", code)
		}
		if strings.Contains(err.Error(), phone) {
			t.Errorf("%s: Error() quotes the value: %s", code, err)
		}
		if !strings.Contains(err.Error(), code) || !strings.Contains(Detail(err), phone) {
			t.Errorf("%s: Error() %q should name the code and Detail %q hold Iterable's message", code, err, Detail(err))
		}
	}

	// The other whole-request answers are not invalid requests.
	s, c := newSim(t)
	if _, err := c.BulkUpdate(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	_, err := c.BulkUpdate(t.Context(), BulkRequest{Users: []User{{ID: email("ann@example.com"), Fields: []change.Attr{attr("phone", "5")}}}})
	if _, ok := IsTypeMismatch(err); !ok || IsInvalidRequest(err) {
		t.Errorf("type mismatch %v: IsInvalidRequest = %v", err, IsInvalidRequest(err))
	}
	s.SetFaults(sim.Faults{Burst: 1, BurstStatus: 400})
	if _, err := c.BulkUpdate(t.Context(), req); err == nil || IsInvalidRequest(err) {
		t.Errorf("a 400 GenericError (%v) counts as an invalid request", err)
	}
	if _, err := New(c.baseURL, "wrong").BulkUpdate(t.Context(), req); !IsAuth(err) || IsInvalidRequest(err) {
		t.Errorf("401 %v: IsAuth %v, IsInvalidRequest %v", err, IsAuth(err), IsInvalidRequest(err))
	}
}
