package iterable

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
)

func TestUserExists(t *testing.T) {
	t.Parallel()
	const found = `{"user":{"email":"ann+x@example.com","userId":"u 1/2","dataFields":{"firstName":"Ann"}}}`
	tests := []struct {
		name       string
		id         change.Identifier
		status     int
		body       string
		want       bool
		wantErr    bool
		wantPath   string
		wantParams url.Values
	}{
		{"email found", email("ann+x@example.com"), 200, found, true, false, EndpointGetByEmail, url.Values{"email": {"ann+x@example.com"}}},
		{"email absent {}", email("nobody@example.com"), 200, `{}`, false, false, EndpointGetByEmail, url.Values{"email": {"nobody@example.com"}}},
		{"email empty user", email("nobody@example.com"), 200, `{"user":{}}`, false, false, EndpointGetByEmail, nil},
		{"email null user", email("nobody@example.com"), 200, `{"user":null}`, false, false, EndpointGetByEmail, nil},
		{"email 404 is an error", email("nobody@example.com"), 404, `not found`, false, true, EndpointGetByEmail, nil},
		{"userId found", userID("u 1/2"), 200, found, true, false, EndpointByUserID, url.Values{"userId": {"u 1/2"}}},
		{"userId absent {}", userID("u-0"), 200, `{}`, false, false, EndpointByUserID, nil},
		{"userId noUserWithIdExists 500", userID("u-0"), 500, `{"msg":"No user with id","code":"error.users.noUserWithIdExists","params":null}`, false, false, EndpointByUserID, nil},
		{"userId noUserWithIdExists 200", userID("u-0"), 200, `{"msg":"","code":"error.users.noUserWithIdExists"}`, false, false, EndpointByUserID, nil},
		{"userId 404", userID("u-0"), 404, `{"msg":"Not found","code":"NotFound"}`, false, false, EndpointByUserID, nil},
		{"userId 500 other", userID("u-0"), 500, `{"msg":"boom","code":"GenericError"}`, false, true, EndpointByUserID, nil},
		{"401", email("a@example.com"), 401, `{"msg":"Invalid API key","code":"BadApiKey","params":null}`, false, true, EndpointGetByEmail, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFake(t, tt.status, tt.body)
			lim := &countingLimiter{}
			got, err := New(srv.URL, testKey, WithLookupLimiter(lim)).UserExists(t.Context(), tt.id)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("UserExists = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
			r := f.only(t)
			if r.Method != http.MethodGet || r.Path != tt.wantPath {
				t.Errorf("request %s %s, want GET %s", r.Method, r.Path, tt.wantPath)
			}
			if r.Header.Get("Api-Key") != testKey {
				t.Error("no Api-Key header")
			}
			if tt.wantParams != nil {
				if q, _ := url.ParseQuery(r.RawQuery); q.Encode() != tt.wantParams.Encode() {
					t.Errorf("query %q, want %q", r.RawQuery, tt.wantParams.Encode())
				}
			}
			if lim.waits != 1 {
				t.Errorf("lookup limiter waited %d times, want 1", lim.waits)
			}
			if tt.status == 401 && !IsAuth(err) {
				t.Errorf("401 not IsAuth: %v", err)
			}
		})
	}
}
