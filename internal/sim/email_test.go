package sim

import (
	"net/http"
	"testing"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

// updateEmail posts a request body, checked against UpdateEmailRequest
// first, and checks the answer against what Swagger documents for its
// status.
func updateEmail(t *testing.T, base string, body map[string]any) (int, string) {
	t.Helper()
	b := mustJSON(t, body)
	if err := swagger.ValidateRequest(swagger.OpUpdateEmail, swagger.Request{Body: b}); err != nil {
		t.Fatalf("test sends a non-conformant request: %v", err)
	}
	r := doReq(t, http.MethodPost, base+"/api/users/updateEmail", testKey, b)
	if _, documented := swagger.ResponseDefinition(swagger.OpUpdateEmail, r.status); !documented {
		t.Errorf("status %d is not documented for updateEmail", r.status)
	}
	code, _ := apiErr(t, r) // success and errors are both IterableApiResponse
	return r.status, code
}

func TestUpdateEmailMovesTheProfile(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(
		map[string]any{"email": "old@example.com", "userId": "u1", "dataFields": map[string]any{"plan": "pro", "notMapped": 7}},
		map[string]any{"email": "taken@example.com", "dataFields": map[string]any{"plan": "free"}},
	))
	s.Forget("gone@example.com")

	if status, code := updateEmail(t, base, map[string]any{"currentEmail": "Old@Example.com", "newEmail": "New@Example.com"}); status != 200 || code != "Success" {
		t.Fatalf("move: %d %s", status, code)
	}
	if _, ok := s.Profile("old@example.com"); ok {
		t.Error("the old email still names a profile")
	}
	p := mustProfile(t, s, "new@example.com")
	if p.UserID != "u1" || p.DataFields["plan"] != "pro" || p.DataFields["notMapped"] != int64(7) {
		t.Errorf("moved profile %+v lost data", p)
	}
	if n := s.Stats().Profiles; n != 2 {
		t.Errorf("%d profiles after a move, want 2", n)
	}

	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   string
	}{
		{"new email taken", map[string]any{"currentEmail": "new@example.com", "newEmail": "taken@example.com"}, 409, "EmailAlreadyExists"},
		{"new email forgotten", map[string]any{"currentEmail": "new@example.com", "newEmail": "gone@example.com"}, 409, "ForgottenUserError"},
		{"unknown current user", map[string]any{"currentEmail": "nobody@example.com", "newEmail": "x@example.com"}, 400, "BadParams"},
		{"invalid new email", map[string]any{"currentEmail": "new@example.com", "newEmail": "not-an-email"}, 400, "InvalidEmailAddressError"},
		{"no current user", map[string]any{"newEmail": "x@example.com"}, 400, "BadParams"},
		{"same email again", map[string]any{"currentEmail": "new@example.com", "newEmail": "new@example.com"}, 200, "Success"},
	}
	for _, c := range cases {
		if status, code := updateEmail(t, base, c.body); status != c.status || code != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, status, code, c.status, c.code)
		}
	}
	if p := mustProfile(t, s, "taken@example.com"); p.DataFields["plan"] != "free" {
		t.Errorf("a refused move changed the other profile: %+v", p)
	}

	// By userId; currentEmail takes precedence when both are given.
	if status, _ := updateEmail(t, base, map[string]any{"currentUserId": "u1", "newEmail": "third@example.com"}); status != 200 {
		t.Fatalf("move by userId: %d", status)
	}
	if status, _ := updateEmail(t, base, map[string]any{"currentEmail": "taken@example.com", "currentUserId": "u1", "newEmail": "fourth@example.com"}); status != 200 {
		t.Fatalf("move with both: %d", status)
	}
	if mustProfile(t, s, "fourth@example.com").DataFields["plan"] != "free" || mustProfile(t, s, "third@example.com").UserID != "u1" {
		t.Errorf("currentEmail did not take precedence: %v", keys(s.Profiles()))
	}
	if n := s.Stats().EmailsUpdated; n != 3 {
		t.Errorf("EmailsUpdated = %d, want 3", n)
	}

	// A body without newEmail is refused as Iterable refuses bad JSON bodies.
	r := doReq(t, http.MethodPost, base+"/api/users/updateEmail", testKey, []byte(`{"currentEmail":"third@example.com"}`))
	if code, _ := apiErr(t, r); r.status != 400 || code != "BadJsonBody" {
		t.Errorf("no newEmail: %d %s", r.status, code)
	}
}
