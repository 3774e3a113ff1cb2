package sim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

func lookup(t *testing.T, base, pathAndQuery string) response {
	t.Helper()
	return doReq(t, http.MethodGet, base+pathAndQuery, testKey, nil)
}

func TestLookups(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(
		map[string]any{"email": "ann@example.com", "userId": "u/1", "dataFields": map[string]any{"plan": "pro"}},
		map[string]any{"userId": "only-id", "dataFields": map[string]any{"plan": "free"}},
	))

	found := []string{
		"/api/users/getByEmail?email=" + url.QueryEscape("Ann@Example.com"),
		"/api/users/ann@example.com",
		"/api/users/byUserId?userId=" + url.QueryEscape("u/1"),
		"/api/users/byUserId/u/1",
	}
	for _, p := range found {
		r := lookup(t, base, p)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d %s", p, r.status, r.body)
		}
		conform(t, swagger.UserResponse, r.body)
		var got struct {
			User struct {
				Email      string         `json:"email"`
				UserID     string         `json:"userId"`
				DataFields map[string]any `json:"dataFields"`
			} `json:"user"`
		}
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		u := got.User
		if u.Email != "ann@example.com" || u.UserID != "u/1" || u.DataFields["plan"] != "pro" {
			t.Errorf("%s: %s", p, r.body)
		}
		for _, sys := range []string{"signupDate", "profileUpdatedAt", "email", "userId"} {
			if _, ok := u.DataFields[sys]; !ok {
				t.Errorf("%s: dataFields lacks %s: %s", p, sys, r.body)
			}
		}
	}

	// A userId-only profile has no email; Swagger requires the member.
	r := lookup(t, base, "/api/users/byUserId?userId=only-id")
	conform(t, swagger.UserResponse, r.body)
	if !strings.Contains(string(r.body), `"email":""`) {
		t.Errorf("userId-only answer: %s", r.body)
	}

	absent := []string{
		"/api/users/getByEmail?email=nobody@example.com",
		"/api/users/nobody@example.com",
		"/api/users/byUserId?userId=U/1", // userIds are case sensitive
		"/api/users/byUserId/nobody",
	}
	for _, p := range absent {
		r := lookup(t, base, p)
		if r.status != http.StatusOK || string(r.body) != "{}" {
			t.Errorf("%s: %d %s, want 200 {}", p, r.status, r.body)
		}
		conform(t, swagger.UserResponse, r.body)
	}

	// Forgotten users are gone.
	s.Forget("ann@example.com")
	if r := lookup(t, base, "/api/users/getByEmail?email=ann@example.com"); string(r.body) != "{}" {
		t.Errorf("forgotten user still found: %s", r.body)
	}

	for p, code := range map[string]string{
		"/api/users/getByEmail":             "BadParams",
		"/api/users/byUserId?userId=":       "BadParams",
		"/api/users/getByEmail?email=nope":  "InvalidEmailAddressError",
		"/api/users/getByEmail?email=a%40b": "InvalidEmailAddressError",
	} {
		r := lookup(t, base, p)
		if r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d", p, r.status)
			continue
		}
		if got, _ := apiErr(t, r); got != code {
			t.Errorf("%s: code %s, want %s", p, got, code)
		}
	}

	st := s.Stats()
	if st.Requests[EndpointGetByEmail][200] != 3 || st.Requests[EndpointByUserIDPath][200] != 2 {
		t.Errorf("requests by endpoint %v", st.Requests)
	}
}

func TestUnknownEndpoint(t *testing.T) {
	_, base := newSim(t, Options{})
	r := doReq(t, http.MethodPost, base+"/api/users/update", testKey, []byte(`{}`))
	if r.status != http.StatusNotFound {
		t.Fatalf("status %d", r.status)
	}
	if code, _ := apiErr(t, r); code != "NotFound" {
		t.Errorf("code %s", code)
	}
}
