package iterable

import (
	"net/http/httptest"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/ratelimit"
	"github.com/attrsync/attrsync/internal/sim"
)

// TestRoundTripAgainstSimulator drives the client against the Iterable
// simulator, which enforces Iterable's documented rules.
func TestRoundTripAgainstSimulator(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{APIKey: testKey, BulkUpdatePerSecond: -1, LookupPerSecond: -1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := New(srv.URL, testKey)

	res, err := c.BulkUpdate(t.Context(), BulkRequest{
		Users: []User{
			{ID: email("Ann@Example.com"), Fields: []change.Attr{attr("age", "41"), attr("plan", `{"tier":"pro"}`)}},
			{ID: email("not-an-email"), Fields: []change.Attr{attr("age", "1")}},
			{ID: userID("u-1"), Fields: []change.Attr{attr("age", "7")}},
		},
		CreateNewFields: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) != 1 || res.Rejected[email("not-an-email")].Bucket != "invalidEmails" {
		t.Errorf("rejected %+v, want only not-an-email as invalidEmails", res.Rejected)
	}
	if res.SuccessCount != 2 || res.FailCount != 1 {
		t.Errorf("counts %d/%d, want 2/1", res.SuccessCount, res.FailCount)
	}

	for id, want := range map[change.Identifier]bool{
		email("ann@example.com"):    true,
		email("nobody@example.com"): false,
		userID("u-1"):               true,
		userID("u-404"):             false,
	} {
		got, err := c.UserExists(t.Context(), id)
		if err != nil || got != want {
			t.Errorf("UserExists(%v) = %v, %v; want %v", id, got, err, want)
		}
	}

	_, err = c.BulkUpdate(t.Context(), BulkRequest{Users: []User{{ID: email("ann@example.com"), Fields: []change.Attr{attr("age", `"old"`)}}}})
	fields, ok := IsTypeMismatch(err)
	if !ok || fields["age"].ExpectedType == "" {
		t.Errorf("type mismatch: err = %v, fields %+v", err, fields)
	}

	_, err = New(srv.URL, "wrong-key").BulkUpdate(t.Context(), BulkRequest{Users: []User{{ID: email("ann@example.com")}}})
	if !IsAuth(err) {
		t.Errorf("wrong key: err = %v, want IsAuth", err)
	}
}

// TestPacedClientGetsNo429 sends lookups at 5/s through an adaptive limiter
// to a simulator enforcing 5/s: an evenly paced client sees no 429, where
// the same lookups unpaced do.
func TestPacedClientGetsNo429(t *testing.T) {
	t.Parallel()
	lookups := func(c *Client) {
		t.Helper()
		for range 7 {
			_, _ = c.UserExists(t.Context(), userID("u-1"))
		}
	}
	s := sim.New(sim.Options{APIKey: testKey, LookupPerSecond: 5})
	srv := httptest.NewServer(s)
	defer srv.Close()

	lookups(New(srv.URL, testKey, WithLookupLimiter(ratelimit.NewAdaptiveLocal(ratelimit.AIMD{Max: 5}))))
	if st := s.Stats(); st.TooManyRequests != 0 {
		t.Fatalf("paced: %d of 7 lookups answered 429", st.TooManyRequests)
	}
	lookups(New(srv.URL, testKey))
	if st := s.Stats(); st.TooManyRequests == 0 {
		t.Fatal("unpaced: no lookup answered 429, so the paced run proves nothing")
	}
}

// TestSimulator429 checks that an unpaced burst meets the simulator's 429,
// which the client classifies as transient with its Retry-After.
func TestSimulator429(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{APIKey: testKey, RetryAfter: true, RateTolerance: -1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := New(srv.URL, testKey)
	req := BulkRequest{Users: []User{{ID: userID("u-1")}}}
	var last error
	for range 3 {
		if _, err := c.BulkUpdate(t.Context(), req); err != nil {
			last = err
		}
	}
	if !IsTransient(last) {
		t.Fatalf("burst: err = %v, want a transient 429", last)
	}
	if d, ok := RetryAfter(last); !ok || d < 1e9 {
		t.Errorf("RetryAfter = %s, %v; want at least 1s", d, ok)
	}
}
