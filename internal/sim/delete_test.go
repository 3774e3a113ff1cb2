package sim

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

// del sends a delete, checking the request and the answer against Swagger.
// Two statuses are answered though the operation does not list them: 404
// for an unknown user (see deleteUser) and 429, which the operation's
// description implies by stating a rate limit.
func del(t *testing.T, base, op, param, id string) (int, string) {
	t.Helper()
	if err := swagger.ValidateRequest(op, swagger.Request{Path: map[string]string{param: id}}); err != nil {
		t.Fatalf("test sends a non-conformant request: %v", err)
	}
	path := "/api/users/" + url.PathEscape(id)
	if op == swagger.OpDeleteByUserID {
		path = "/api/users/byUserId/" + url.PathEscape(id)
	}
	r := doReq(t, http.MethodDelete, base+path, testKey, nil)
	if _, documented := swagger.ResponseDefinition(op, r.status); !documented && r.status != http.StatusNotFound && r.status != http.StatusTooManyRequests {
		t.Errorf("status %d is not documented for %s", r.status, op)
	}
	code, _ := apiErr(t, r)
	return r.status, code
}

func TestDeleteIsAsynchronous(t *testing.T) {
	clock := newFakeClock()
	s, base := newSim(t, Options{Now: clock.Now, DeleteDelay: 2 * time.Second})
	bulkOK(t, base, users(
		map[string]any{"email": "a/b@example.com", "dataFields": map[string]any{"plan": "pro"}},
		map[string]any{"userId": "u/1", "dataFields": map[string]any{"plan": "free"}},
		map[string]any{"email": "keep@example.com", "dataFields": map[string]any{"plan": "free"}},
	))

	if status, code := del(t, base, swagger.OpDeleteByEmail, "email", "A/B@example.com"); status != 200 || code != "Success" {
		t.Fatalf("delete by email: %d %s", status, code)
	}
	if status, _ := del(t, base, swagger.OpDeleteByUserID, "userId", "u/1"); status != 200 {
		t.Fatalf("delete by userId: %d", status)
	}
	// Until the deletion takes effect the user is still there, and a write
	// lands on the profile that is about to go.
	if r := lookup(t, base, "/api/users/getByEmail?email=a%2Fb%40example.com"); string(r.body) == "{}" {
		t.Error("deleted user vanished at once; Iterable deletes asynchronously")
	}
	bulkOK(t, base, users(map[string]any{"email": "a/b@example.com", "dataFields": map[string]any{"plan": "new"}}))

	clock.Add(2 * time.Second)
	if _, ok := s.Profile("a/b@example.com"); ok {
		t.Error("user by email still there after the delay")
	}
	if _, ok := s.Profile("u/1"); ok {
		t.Error("user by userId still there after the delay")
	}
	mustProfile(t, s, "keep@example.com")
	if st := s.Stats(); st.UsersDeleted != 2 || st.Profiles != 1 {
		t.Errorf("stats %+v, want 2 deleted and 1 left", st)
	}

	// Gone users are 404; a malformed email is 400.
	if status, code := del(t, base, swagger.OpDeleteByEmail, "email", "a/b@example.com"); status != 404 || code != "NotFound" {
		t.Errorf("delete of a deleted user: %d %s", status, code)
	}
	if status, _ := del(t, base, swagger.OpDeleteByUserID, "userId", "nobody"); status != 404 {
		t.Errorf("delete of an unknown userId: %d", status)
	}
	if status, code := del(t, base, swagger.OpDeleteByEmail, "email", "not-an-email"); status != 400 || code != "InvalidEmailAddressError" {
		t.Errorf("delete of a malformed email: %d %s", status, code)
	}

	// A write after the deletion took effect creates the user afresh.
	bulkOK(t, base, users(map[string]any{"email": "a/b@example.com", "dataFields": map[string]any{"other": 1}}))
	if p := mustProfile(t, s, "a/b@example.com"); p.DataFields["plan"] != nil {
		t.Errorf("re-created user kept deleted data: %+v", p)
	}
}

func TestDeleteRateLimit(t *testing.T) {
	clock := newFakeClock()
	_, base := newSim(t, Options{Now: clock.Now, DeletePerSecond: DefaultDeletePerSecond, DeleteDelay: -1, RateTolerance: -1})
	if status, _ := del(t, base, swagger.OpDeleteByUserID, "userId", "x"); status != 404 {
		t.Fatalf("first: %d", status)
	}
	if status, _ := del(t, base, swagger.OpDeleteByUserID, "userId", "x"); status != 429 {
		t.Errorf("second at the same instant: %d, want 429 at 100/s", status)
	}
	clock.Add(10 * time.Millisecond)
	if status, _ := del(t, base, swagger.OpDeleteByUserID, "userId", "x"); status != 404 {
		t.Errorf("10 ms later: %d", status)
	}
}
