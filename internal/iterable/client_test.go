package iterable

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim/swagger"
)

const testKey = "sk-test-0123456789abcdef"

// recorded is one request a test server received.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// fakeIterable answers every request with status, headers and body, and
// records what it got.
type fakeIterable struct {
	mu       sync.Mutex
	requests []recorded
	answer   func(w http.ResponseWriter, r *http.Request)
}

func newFake(t *testing.T, status int, body string, header ...string) (*fakeIterable, *httptest.Server) {
	t.Helper()
	f := &fakeIterable{answer: func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeIterable) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
	f.mu.Unlock()
	f.answer(w, r)
}

func (f *fakeIterable) only(t *testing.T) recorded {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 {
		t.Fatalf("server got %d requests, want 1", len(f.requests))
	}
	return f.requests[0]
}

// countingLimiter counts waits and answers each with err.
type countingLimiter struct {
	mu    sync.Mutex
	waits int
	err   error
}

func (l *countingLimiter) Wait(context.Context) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.waits++
	return 0, l.err
}

var twoUsers = BulkRequest{
	Users: []User{
		{ID: email("ann@example.com"), Fields: []change.Attr{attr("firstName", `"Ann"`)}},
		{ID: email("bob@example.com"), Fields: []change.Attr{attr("firstName", `"Bob"`)}},
	},
	CreateNewFields: true,
}

func TestBulkUpdateSendsRequest(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t, 200, `{"successCount":2,"failCount":0,"createdFields":["firstName"],"filteredOutFields":[]}`)
	c := New(srv.URL+"/", testKey, WithUserAgent("attrsync/1.2.3"))

	res, err := c.BulkUpdate(t.Context(), twoUsers)
	if err != nil {
		t.Fatal(err)
	}
	r := f.only(t)
	if r.Method != http.MethodPost || r.Path != EndpointBulkUpdate || r.RawQuery != "" {
		t.Errorf("request %s %s?%s, want POST %s", r.Method, r.Path, r.RawQuery, EndpointBulkUpdate)
	}
	for h, want := range map[string]string{"Api-Key": testKey, "Content-Type": "application/json", "User-Agent": "attrsync/1.2.3"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("header %s = %q, want %q", h, got, want)
		}
	}
	if got, want := string(r.Body), string(EncodeBulk(twoUsers)); got != want {
		t.Errorf("body %s, want %s", got, want)
	}
	if err := swagger.Validate(swagger.BulkUpdateUsersRequest, r.Body); err != nil {
		t.Error(err)
	}
	if res.SuccessCount != 2 || res.FailCount != 0 || len(res.Rejected) != 0 || res.CreatedFields[0] != "firstName" {
		t.Errorf("result %+v", res)
	}
}

func TestBulkUpdatePartialFailure(t *testing.T) {
	t.Parallel()
	// Iterable lowercases emails in its answers; noOp lists and unknown keys
	// are not failures; the deprecated top-level list repeats failedUpdates.
	body := `{"successCount":2,"failCount":3,
		"invalidEmails":["not-an-email","x@nowhere"],"invalidUserIds":[],
		"noOpEmails":["carl@example.com"],"somethingNew":{"x":1},
		"failedUpdates":{
			"invalidEmails":["not-an-email","x@nowhere"],
			"forgottenEmails":["dora@example.com"],
			"forgottenUserIds":["u-7"],
			"invalidDataEmails":[],"conflictEmails":[],"conflictUserIds":[],"invalidDataUserIds":[],
			"invalidUserIds":[],"notFoundEmails":[],"notFoundUserIds":[],
			"noOpUserIds":["u-8"],
			"quarantinedUserIds":["u-9"]
		},
		"createdFields":[],"filteredOutFields":["secret"]}`
	if err := swagger.Validate(swagger.UserBulkUpdateListResponse, []byte(body)); err != nil {
		t.Fatalf("fixture does not match Iterable's Swagger: %v", err)
	}
	_, srv := newFake(t, 200, body)
	c := New(srv.URL, testKey)
	req := BulkRequest{Users: []User{
		{ID: email("not-an-email")},
		{ID: email("Dora@Example.com")},
		{ID: email("carl@example.com")},
		{ID: userID("u-7")},
		{ID: userID("U-7")},
		{ID: userID("u-8")},
		{ID: userID("u-9")},
	}}
	res, err := c.BulkUpdate(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	want := map[change.Identifier]string{
		email("not-an-email"):     "invalidEmails",
		email("Dora@Example.com"): "forgottenEmails",
		userID("u-7"):             "forgottenUserIds",
		userID("u-9"):             "quarantinedUserIds", // a bucket Iterable may add
	}
	if len(res.Rejected) != len(want) {
		t.Errorf("rejected %v, want %v", res.Rejected, want)
	}
	for id, bucket := range want {
		if got := res.Rejected[id]; got.Bucket != bucket || got.Reason == "" {
			t.Errorf("rejection of %v = %+v, want bucket %s", id, got, bucket)
		}
	}
	if res.Unmatched != 1 {
		t.Errorf("unmatched = %d, want 1 (x@nowhere, named twice)", res.Unmatched)
	}
	if res.SuccessCount != 2 || res.FailCount != 3 || len(res.FilteredOutFields) != 1 {
		t.Errorf("result %+v", res)
	}
}

func TestBulkUpdateDeprecatedListsOnly(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, 200, `{"successCount":0,"failCount":2,"invalidEmails":["A@B"],"invalidUserIds":["u 1 "]}`)
	res, err := New(srv.URL, testKey).BulkUpdate(t.Context(), BulkRequest{Users: []User{{ID: email("a@b")}, {ID: userID("u 1 ")}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected[email("a@b")].Bucket != "invalidEmails" || res.Rejected[userID("u 1 ")].Bucket != "invalidUserIds" {
		t.Fatalf("rejected %+v", res.Rejected)
	}
}

func TestBulkUpdateTypeMismatch(t *testing.T) {
	t.Parallel()
	body := `{"msg":"Project 10216: The request does not have the same data types as the data previously submitted.","code":"RequestFieldsTypesMismatched",
		"params":{"validationErrors":{
			"signupAt":{"incomingTypes":["string","keyword"],"expectedType":"date","_type":"UnexpectedType","offendingValue":"GGG","category":"user"},
			"my_project_etl:::score":{"incomingTypes":["string"],"expectedType":"long","_type":"UnexpectedType","offendingValue":"high","category":"user"}}}}`
	if err := swagger.Validate(swagger.IterableApiResponse, []byte(body)); err != nil {
		t.Fatalf("fixture does not match Iterable's Swagger: %v", err)
	}
	_, srv := newFake(t, 400, body)
	_, err := New(srv.URL, testKey).BulkUpdate(t.Context(), twoUsers)

	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.Status != 400 || apiErr.Code != CodeTypeMismatch || apiErr.Endpoint != EndpointBulkUpdate {
		t.Fatalf("err = %#v", err)
	}
	fields, ok := IsTypeMismatch(err)
	if !ok {
		t.Fatal("IsTypeMismatch = false")
	}
	if m := fields["signupAt"]; m.ExpectedType != "date" || len(m.IncomingTypes) != 2 || string(m.OffendingValue) != `"GGG"` {
		t.Errorf("signupAt = %+v", m)
	}
	if m := fields["score"]; m.ExpectedType != "long" || string(m.OffendingValue) != `"high"` {
		t.Errorf("score (from project:::score) = %+v", m)
	}
	if IsTransient(err) || IsAuth(err) {
		t.Error("type mismatch classified transient or auth")
	}

	// Without parseable params it is still a mismatch, naming no field.
	_, srv = newFake(t, 400, `{"msg":"mismatch","code":"RequestFieldsTypesMismatched","params":null}`)
	_, err = New(srv.URL, testKey).BulkUpdate(t.Context(), twoUsers)
	if fields, ok := IsTypeMismatch(err); !ok || len(fields) != 0 {
		t.Errorf("IsTypeMismatch without params = %v, %v", fields, ok)
	}
}

func TestClassification(t *testing.T) {
	t.Parallel()
	httpDate := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		body       string
		header     []string
		transient  bool
		auth       bool
		code       string
		retryAfter time.Duration // lower bound; 0 means none
	}{
		{name: "401 BadApiKey", status: 401, body: `{"msg":"Invalid API key","code":"BadApiKey","params":{"ip":"1.2.3.4","endpoint":"/api/users/bulkUpdate"}}`, auth: true, code: CodeBadAPIKey},
		{name: "403", status: 403, body: `{"msg":"Forbidden","code":"Forbidden","params":null}`, auth: true, code: "Forbidden"},
		{name: "400 BadJsonBody", status: 400, body: `{"msg":"Invalid JSON body","code":"BadJsonBody","params":{"obj.users[1].preferUserId":"Boolean value expected"}}`, code: "BadJsonBody"},
		{name: "408", status: 408, body: ``, transient: true},
		{name: "429 without Retry-After", status: 429, body: `{"msg":"Rate limit exceeded","code":"RateLimitExceeded","params":null}`, transient: true, code: CodeRateLimit},
		{name: "429 Retry-After seconds", status: 429, body: `{"msg":"","code":"RateLimitExceeded"}`, header: []string{"Retry-After", "7"}, transient: true, code: CodeRateLimit, retryAfter: 7 * time.Second},
		{name: "429 Retry-After date", status: 429, body: `{}`, header: []string{"Retry-After", httpDate}, transient: true, retryAfter: 80 * time.Second},
		{name: "500", status: 500, body: `{"msg":"oops","code":"GenericError","params":null}`, transient: true, code: "GenericError"},
		{name: "502 HTML", status: 502, body: `<html>Bad Gateway</html>`, transient: true},
		{name: "503", status: 503, body: ``, transient: true},
		{name: "501", status: 501, body: `{"msg":"no","code":"GenericError"}`, code: "GenericError"},
		{name: "307 redirect is not followed", status: 307, body: ``, header: []string{"Location", "http://127.0.0.1:1/elsewhere"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFake(t, tt.status, tt.body, tt.header...)
			_, err := New(srv.URL, testKey).BulkUpdate(t.Context(), twoUsers)
			apiErr, ok := errors.AsType[*APIError](err)
			if !ok {
				t.Fatalf("err = %v, want *APIError", err)
			}
			f.only(t)
			if apiErr.Status != tt.status || apiErr.Code != tt.code {
				t.Errorf("status %d code %q, want %d %q", apiErr.Status, apiErr.Code, tt.status, tt.code)
			}
			if got := IsTransient(err); got != tt.transient {
				t.Errorf("IsTransient = %v, want %v", got, tt.transient)
			}
			if got := IsAuth(err); got != tt.auth {
				t.Errorf("IsAuth = %v, want %v", got, tt.auth)
			}
			if _, ok := IsTypeMismatch(err); ok {
				t.Error("IsTypeMismatch = true")
			}
			ra, hasRA := RetryAfter(err)
			if hasRA != (tt.retryAfter > 0) || ra < tt.retryAfter || (hasRA && ra > tt.retryAfter+15*time.Second) {
				t.Errorf("RetryAfter = %s, %v; want about %s", ra, hasRA, tt.retryAfter)
			}
		})
	}
}

func TestNetworkFailureIsTransient(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, 200, `{}`)
	srv.Close()
	_, err := New(srv.URL, testKey).BulkUpdate(t.Context(), twoUsers)
	if _, ok := errors.AsType[*TransportError](err); !ok || !IsTransient(err) {
		t.Fatalf("err = %v (transient %v), want a transient *TransportError", err, IsTransient(err))
	}

	// A connection the server drops without answering.
	drop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	defer drop.Close()
	_, err = New(drop.URL, testKey).BulkUpdate(t.Context(), twoUsers)
	if !IsTransient(err) {
		t.Fatalf("dropped connection: err = %v, want transient", err)
	}
}

func TestTimeoutVersusCallerCancel(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release)

	c := New(slow.URL, testKey, WithTimeout(100*time.Millisecond))
	_, err := c.BulkUpdate(t.Context(), twoUsers)
	if !errors.Is(err, ErrTimeout) || !IsTransient(err) {
		t.Fatalf("per-request timeout: err = %v, want a transient ErrTimeout", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Error("per-request timeout looks like the caller's deadline")
	}

	c = New(slow.URL, testKey, WithTimeout(time.Minute))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err = c.BulkUpdate(ctx, twoUsers)
	if !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Fatalf("caller cancel: err = %v (transient %v), want context.Canceled, not transient", err, IsTransient(err))
	}

	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = c.BulkUpdate(ctx, twoUsers)
	if !errors.Is(err, context.DeadlineExceeded) || IsTransient(err) {
		t.Fatalf("caller deadline: err = %v, want context.DeadlineExceeded, not transient", err)
	}
}

func TestLimiterFailure(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t, 200, `{}`)
	lim := &countingLimiter{err: errors.New("redis: connection refused")}
	_, err := New(srv.URL, testKey, WithLookupLimiter(lim)).UserExists(t.Context(), email("ann@example.com"))
	if !errors.Is(err, ErrRateLimiter) || !IsTransient(err) {
		t.Fatalf("err = %v, want a transient ErrRateLimiter", err)
	}
	if len(f.requests) != 0 {
		t.Fatal("request sent although the limiter failed")
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	lim.err = ctx.Err()
	_, err = New(srv.URL, testKey, WithLookupLimiter(lim)).UserExists(ctx, email("ann@example.com"))
	if IsTransient(err) {
		t.Fatalf("limiter wait cancelled by the caller: err = %v, want not transient", err)
	}
}

func TestInvalidAttributeJSONIsNotSent(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t, 200, `{}`)
	req := BulkRequest{Users: []User{{ID: email("a@b.co"), Fields: []change.Attr{attr("x", "")}}}}
	_, err := New(srv.URL, testKey).BulkUpdate(t.Context(), req)
	if !errors.Is(err, ErrInvalidBody) || IsTransient(err) {
		t.Fatalf("err = %v, want ErrInvalidBody", err)
	}
	if len(f.requests) != 0 {
		t.Fatal("invalid body sent")
	}
}

func TestUndecodable200(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, 200, `<html>hello</html>`)
	_, err := New(srv.URL, testKey).BulkUpdate(t.Context(), twoUsers)
	if err == nil || IsTransient(err) {
		t.Fatalf("err = %v, want a permanent error", err)
	}
}
