package iterable

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/sim/swagger"
)

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// newSimClient is a client of a simulator with every rate limit off.
func newSimClient(t *testing.T, opts sim.Options) (*Client, *sim.Server) {
	t.Helper()
	opts.APIKey = testKey
	opts.BulkUpdatePerSecond, opts.LookupPerSecond, opts.GetFieldsPerSecond = -1, -1, -1
	opts.DeletePerSecond, opts.ExportPerMinute = -1, -1
	s := sim.New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return New(srv.URL, testKey), s
}

func TestUserFieldsAgainstSimulator(t *testing.T) {
	t.Parallel()
	c, s := newSimClient(t, sim.Options{})
	if err := s.SeedUser("a@example.com", "", map[string]any{"age": 41, "plan": map[string]any{"tier": "pro"}}); err != nil {
		t.Fatal(err)
	}
	fields, err := c.UserFields(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if fields["age"] != "long" || fields["plan"] != "object" || fields["plan.tier"] != "string" || len(fields) != 3 {
		t.Errorf("fields %v", fields)
	}
	_, err = New(strings.TrimSuffix(c.baseURL, "/"), "wrong").UserFields(t.Context())
	if !IsAuth(err) {
		t.Errorf("wrong key: %v", err)
	}
}

func TestUpdateEmailAgainstSimulator(t *testing.T) {
	t.Parallel()
	c, s := newSimClient(t, sim.Options{})
	for _, e := range []string{"old@example.com", "taken@example.com"} {
		if err := s.SeedUser(e, "", map[string]any{"plan": "pro"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SeedUser("", "u1", nil); err != nil {
		t.Fatal(err)
	}
	s.Forget("forgotten@example.com")

	if err := c.UpdateEmail(t.Context(), email("old@example.com"), "new@example.com"); err != nil {
		t.Fatal(err)
	}
	if p, ok := s.Profile("new@example.com"); !ok || p.DataFields["plan"] != "pro" {
		t.Errorf("profile not moved: %+v", p)
	}
	if _, ok := s.Profile("old@example.com"); ok {
		t.Error("old profile left behind")
	}
	if err := c.UpdateEmail(t.Context(), userID("u1"), "u1@example.com"); err != nil {
		t.Errorf("by userId: %v", err)
	}

	for _, c2 := range []struct {
		name      string
		from, to  string
		want      error
		transient bool
	}{
		{"taken", "new@example.com", "taken@example.com", ErrEmailTaken, false},
		{"forgotten", "new@example.com", "forgotten@example.com", ErrUserForgotten, false},
		{"moved already", "old@example.com", "new@example.com", ErrUserNotFound, false},
	} {
		err := c.UpdateEmail(t.Context(), email(c2.from), c2.to)
		if !errors.Is(err, c2.want) || IsTransient(err) != c2.transient {
			t.Errorf("%s: %v, want %v", c2.name, err, c2.want)
		}
		// Iterable names both emails in some messages; errors are logged.
		if err != nil && (strings.Contains(strings.ToLower(err.Error()), c2.from) || strings.Contains(strings.ToLower(err.Error()), c2.to)) {
			t.Errorf("%s: error names an identifier: %v", c2.name, err)
		}
	}
	err := c.UpdateEmail(t.Context(), email("new@example.com"), "not-an-email")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || errors.Is(err, ErrUserNotFound) {
		t.Errorf("invalid new email: %v", err)
	}
}

func TestDeleteUserAgainstSimulator(t *testing.T) {
	t.Parallel()
	c, s := newSimClient(t, sim.Options{DeleteDelay: -1})
	if err := s.SeedUser("a/b@example.com", "u/1", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SeedUser("", "u2", nil); err != nil {
		t.Fatal(err)
	}
	found, err := c.DeleteUser(t.Context(), email("a/b@example.com"))
	if err != nil || !found {
		t.Fatalf("delete by email: %v, %v", found, err)
	}
	if found, err := c.DeleteUser(t.Context(), email("a/b@example.com")); err != nil || found {
		t.Errorf("delete again: %v, %v; want not found, no error", found, err)
	}
	if found, err := c.DeleteUser(t.Context(), userID("u2")); err != nil || !found {
		t.Errorf("delete by userId: %v, %v", found, err)
	}
	if n := s.Stats().Profiles; n != 0 {
		t.Errorf("%d profiles left", n)
	}
	_, err = c.DeleteUser(t.Context(), email("not-an-email"))
	if err == nil || strings.Contains(err.Error(), "not-an-email") {
		t.Errorf("invalid email: %v (the identifier must not appear)", err)
	}
	for _, r := range s.Requests() {
		if r.Endpoint == sim.EndpointDeleteByEmail && r.Path != "/api/users/a/b@example.com" && r.Path != "/api/users/not-an-email" {
			t.Errorf("delete went to %s", r.Path)
		}
	}
}

// TestNewRequestsConformToSwagger records what each new method sends and
// checks it against Iterable's operation.
func TestNewRequestsConformToSwagger(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		got []swagger.Request
		ops []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := swagger.Request{Query: r.URL.Query()}
		var op string
		switch {
		case r.URL.Path == EndpointExport:
			op = swagger.OpExportDataJSON
		case r.URL.Path == EndpointGetFields:
			op = swagger.OpGetUserFields
		case r.URL.Path == EndpointUpdateEmail:
			op = swagger.OpUpdateEmail
			rec.Body, _ = io.ReadAll(r.Body)
		case strings.HasPrefix(r.URL.Path, "/api/users/byUserId/"):
			op = swagger.OpDeleteByUserID
			rec.Path = map[string]string{"userId": strings.TrimPrefix(r.URL.Path, "/api/users/byUserId/")}
		default:
			op = swagger.OpDeleteByEmail
			rec.Path = map[string]string{"email": strings.TrimPrefix(r.URL.Path, "/api/users/")}
		}
		mu.Lock()
		got, ops = append(got, rec), append(ops, op)
		mu.Unlock()
		if op == swagger.OpGetUserFields {
			_, _ = w.Write([]byte(`{"fields":{}}`))
			return
		}
		_, _ = w.Write([]byte(`{"msg":"","code":"Success","params":null}`))
	}))
	defer srv.Close()
	c := New(srv.URL, testKey)
	ctx := t.Context()
	_, _ = c.ExportUsers(ctx, time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil })
	_, _ = c.UserFields(ctx)
	_ = c.UpdateEmail(ctx, email("a@example.com"), "b@example.com")
	_ = c.UpdateEmail(ctx, userID("u1"), "b@example.com")
	_, _ = c.DeleteUser(ctx, email("a@example.com"))
	_, _ = c.DeleteUser(ctx, userID("u1"))
	if len(got) != 6 {
		t.Fatalf("%d requests recorded, want 6", len(got))
	}
	for i := range got {
		if err := swagger.ValidateRequest(ops[i], got[i]); err != nil {
			t.Errorf("%s: %v", ops[i], err)
		}
	}
}

// adaptiveSpy is an Adaptive limiter that records what it is told.
type adaptiveSpy struct {
	mu        sync.Mutex
	waits     int
	succeeded int
	throttled []struct {
		wait  time.Duration
		limit int
	}
}

func (a *adaptiveSpy) Wait(context.Context) (time.Duration, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.waits++
	return 0, nil
}

func (a *adaptiveSpy) Throttled(_ context.Context, wait time.Duration, limit int) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.throttled = append(a.throttled, struct {
		wait  time.Duration
		limit int
	}{wait, limit})
	return nil
}

func (a *adaptiveSpy) Succeeded(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.succeeded++
	return nil
}

func TestAdaptiveLimiterHearsEveryAnswer(t *testing.T) {
	t.Parallel()
	// RESET_MS and RESET_S become a reset 3 s after the request.
	cases := []struct {
		name      string
		status    int
		body      string
		header    []string
		succeeded int
		wait      time.Duration // of the throttle; -1: none expected
		limit     int
	}{
		{"200", 200, `{"user":{"email":"ann@example.com"}}`, nil, 1, -1, 0},
		{"400 got through the limit", 400, `{"msg":"x","code":"BadParams"}`, nil, 1, -1, 0},
		{"500 says nothing about pace", 500, `{"msg":"x","code":"GenericError"}`, nil, 0, -1, 0},
		{"429 bare", 429, `{"msg":"x","code":"RateLimitExceeded","params":null}`, nil, 0, DefaultPenalty, 0},
		{"429 Retry-After", 429, `{"msg":"x","code":"RateLimitExceeded"}`, []string{"Retry-After", "2"}, 0, 2 * time.Second, 0},
		{"429 params in ms", 429, `{"msg":"x","code":"RateLimitExceeded","params":{"rateLimitLimit":5,"rateLimitRemaining":0,"rateLimitReset":RESET_MS}}`, nil, 0, 3 * time.Second, 5},
		{"429 params in s as strings", 429, `{"msg":"x","code":"RateLimitExceeded","params":{"rateLimitLimit":"5","rateLimitReset":"RESET_S"}}`, nil, 0, 3 * time.Second, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			resetAt := time.Now().Add(3 * time.Second)
			body := strings.NewReplacer("RESET_MS", itoa(resetAt.UnixMilli()), "RESET_S", itoa(resetAt.Unix())).Replace(c.body)
			_, srv := newFake(t, c.status, body, c.header...)
			spy := &adaptiveSpy{}
			_, err := New(srv.URL, testKey, WithLookupLimiter(spy)).UserExists(t.Context(), email("ann@example.com"))
			if c.status != 200 && err == nil {
				t.Fatal("no error")
			}
			if spy.succeeded != c.succeeded || spy.waits != 1 {
				t.Errorf("succeeded %d, waits %d; want %d, 1", spy.succeeded, spy.waits, c.succeeded)
			}
			if c.wait < 0 {
				if len(spy.throttled) != 0 {
					t.Errorf("throttled %v", spy.throttled)
				}
				return
			}
			if len(spy.throttled) != 1 {
				t.Fatalf("throttled %d times", len(spy.throttled))
			}
			th := spy.throttled[0]
			if th.limit != c.limit || th.wait > c.wait || th.wait < c.wait-1500*time.Millisecond {
				t.Errorf("throttled(wait %s, limit %d), want about %s and %d", th.wait, th.limit, c.wait, c.limit)
			}
			if b, ok := IsRateLimited(err); !ok || b.Limit != c.limit {
				t.Errorf("IsRateLimited = %+v, %v", b, ok)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
