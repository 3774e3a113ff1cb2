package iterable

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAPIKeyNeverShown formats the client and every kind of error it
// returns, in every verb, and looks for the key.
func TestAPIKeyNeverShown(t *testing.T) {
	t.Parallel()
	// A server that echoes the key back, as a careless proxy might.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("email") {
		case "slow@example.com":
			time.Sleep(200 * time.Millisecond)
		}
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"msg":"bad key %s","code":"BadParams","params":{"key":%q}}`, r.Header.Get("Api-Key"), r.Header.Get("Api-Key"))
	}))
	defer echo.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	c := New(echo.URL, testKey, WithTimeout(50*time.Millisecond))
	var errs []error
	_, err := c.BulkUpdate(t.Context(), twoUsers)
	errs = append(errs, err)
	_, err = c.UserExists(t.Context(), email("slow@example.com")) // times out
	errs = append(errs, err)
	_, err = New(closed.URL, testKey).BulkUpdate(t.Context(), twoUsers)
	errs = append(errs, err)
	_, err = New("http://bad host\x7f", testKey).UserExists(t.Context(), email("a@b.co"))
	errs = append(errs, err)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = c.BulkUpdate(ctx, twoUsers)
	errs = append(errs, err)
	_, err = c.UserFields(t.Context())
	errs = append(errs, err)
	errs = append(errs, c.UpdateEmail(t.Context(), email("a@b.co"), "c@d.co"))
	_, err = c.DeleteUser(t.Context(), userID("u1"))
	errs = append(errs, err)
	_, err = c.ExportUsers(t.Context(), time.Unix(0, 0), time.Now(), func(ExportedUser) error { return nil })
	errs = append(errs, err)

	var out strings.Builder
	for _, v := range []any{c, *c} {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			fmt.Fprintf(&out, verb+"\n", v)
		}
	}
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: no error", i)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			fmt.Fprintf(&out, verb+"\n", err)
		}
		if b, jerr := json.Marshal(err); jerr == nil {
			out.Write(b)
		}
	}
	var logs bytes.Buffer
	slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "client", c, "err", errs[0])
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "client", c, "err", errs[0])
	out.WriteString(logs.String())

	if strings.Contains(out.String(), testKey) {
		t.Fatalf("API key leaked:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "[REDACTED]") {
		t.Errorf("expected a [REDACTED] marker in:\n%s", out.String())
	}
}
