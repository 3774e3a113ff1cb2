package iterable

import (
	"net/http"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/ratelimit"
)

// The limiters of internal/ratelimit slot into the client as Pacers, the
// adaptive ones as Adaptive.
var (
	_ Pacer    = (*ratelimit.Local)(nil)
	_ Pacer    = (*ratelimit.Global)(nil)
	_ Adaptive = (*ratelimit.Adaptive)(nil)
)

// TestTooManyRequestsSlowsRealLimiter checks that a 429 pauses the next
// request through a real local limiter.
func TestTooManyRequestsSlowsRealLimiter(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, http.StatusTooManyRequests, `{"msg":"slow down","code":"RateLimitExceeded"}`, "Retry-After", "1")
	c := New(srv.URL, testKey, WithBulkLimiter(ratelimit.NewLocal(1000)))
	if _, err := c.BulkUpdate(t.Context(), twoUsers); !IsTransient(err) {
		t.Fatalf("429: err = %v, want transient", err)
	}
	start := time.Now()
	_, _ = c.BulkUpdate(t.Context(), twoUsers)
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Fatalf("request after a 429 with Retry-After: 1 went out after %s", d)
	}
}
