package iterable

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim/swagger"
)

func TestExportUsersSendsAConformingRequest(t *testing.T) {
	t.Parallel()
	f, srv := newFake(t, 200, "{\"email\":\"a@example.com\"}\n{\"userId\":\"u1\",\"email\":\"b@example.com\"}\n{\"userId\":\"u2\"}\n")
	lim := &countingLimiter{}
	c := New(srv.URL, testKey, WithExportLimiter(lim))
	var got []ExportedUser
	from := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))
	n, err := c.ExportUsers(t.Context(), from, from.Add(24*time.Hour), func(u ExportedUser) error {
		got = append(got, u)
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("ExportUsers = %d, %v", n, err)
	}
	want := []ExportedUser{{Email: "a@example.com"}, {Email: "b@example.com", UserID: "u1"}, {UserID: "u2"}}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("user %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	r := f.only(t)
	q := mustQuery(t, r.RawQuery)
	if err := swagger.ValidateRequest(swagger.OpExportDataJSON, swagger.Request{Query: q}); err != nil {
		t.Error(err)
	}
	if r.Path != EndpointExport || q.Get("startDateTime") != "2024-01-02 02:04:05 +00:00" || q.Get("endDateTime") != "2024-01-03 02:04:05 +00:00" ||
		strings.Join(q["onlyFields"], ",") != "email,userId" || q.Get("dataTypeName") != "user" {
		t.Errorf("request %s?%s", r.Path, r.RawQuery)
	}
	if lim.waits != 1 {
		t.Errorf("export limiter waited %d times", lim.waits)
	}
}

// TestExportUsersStreams checks that users are handed over while the answer
// is still being written: the server holds the rest of its stream back
// until the first user has been visited.
func TestExportUsersStreams(t *testing.T) {
	t.Parallel()
	visited := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-json-stream")
		fmt.Fprintln(w, `{"email":"first@example.com"}`)
		w.(http.Flusher).Flush()
		select {
		case <-visited:
		case <-time.After(5 * time.Second):
			return // the client waited for the whole body
		}
		for i := range 1000 {
			fmt.Fprintf(w, "{\"email\":\"u%d@example.com\"}\n", i)
		}
	}))
	defer srv.Close()
	n, err := New(srv.URL, testKey).ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(u ExportedUser) error {
		if u.Email == "first@example.com" {
			close(visited)
		}
		return nil
	})
	if err != nil || n != 1001 {
		t.Fatalf("ExportUsers = %d, %v; want 1001 users", n, err)
	}
}

func TestExportUsersFailures(t *testing.T) {
	t.Parallel()
	cut := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000") // promises more than it sends
		io.WriteString(w, "{\"email\":\"a@example.com\"}\n{\"email\":\"b@ex")
	}))
	defer cut.Close()
	n, err := New(cut.URL, testKey).ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil })
	if n != 1 || !IsTransient(err) {
		t.Errorf("stream cut mid-line: %d users, err %v; want 1 and a transient error", n, err)
	}

	_, garbage := newFake(t, 200, "{\"email\":\"a@example.com\"}\n<html>oops</html>\n")
	_, err = New(garbage.URL, testKey).ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil })
	if !errors.Is(err, ErrInvalidExport) || IsTransient(err) {
		t.Errorf("garbage line: err %v, want ErrInvalidExport, permanent", err)
	}

	_, limited := newFake(t, 429, `{"msg":"slow down","code":"RateLimitExceeded","params":{"rateLimitLimit":4,"rateLimitRemaining":0,"rateLimitReset":"30"}}`)
	_, err = New(limited.URL, testKey).ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil })
	if b, ok := IsRateLimited(err); !ok || b.Limit != 4 || b.Wait < 29*time.Second || b.Wait > 30*time.Second {
		t.Errorf("429: %v, backoff %+v", err, b)
	}

	stop := errors.New("enough")
	_, ok := newFake(t, 200, "{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\"}\n")
	n, err = New(ok.URL, testKey).ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(ExportedUser) error { return stop })
	if n != 0 || !errors.Is(err, stop) {
		t.Errorf("visit error: %d, %v", n, err)
	}
}

// TestExportUsersTimeoutIsSilence lets a stream last longer than the
// client's timeout while it keeps sending, and then fall silent.
func TestExportUsersTimeoutIsSilence(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range 6 {
			fmt.Fprintf(w, "{\"email\":\"u%d@example.com\"}\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
		if r.URL.Query().Get("startDateTime") == "1970-01-01 00:00:00 +00:00" {
			return
		}
		select { // then silence
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer srv.Close()
	c := New(srv.URL, testKey, WithTimeout(200*time.Millisecond))
	n, err := c.ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil })
	if err != nil || n != 6 {
		t.Errorf("a 300 ms stream with a 200 ms timeout: %d, %v", n, err)
	}
	n, err = c.ExportUsers(t.Context(), time.Unix(1, 0), time.Now(), func(ExportedUser) error { return nil })
	if n != 6 || !errors.Is(err, ErrTimeout) {
		t.Errorf("a stream falling silent: %d, %v; want 6 and ErrTimeout", n, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.ExportUsers(ctx, time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil }); !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Errorf("cancelled: %v", err)
	}
}
