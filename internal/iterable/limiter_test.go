package iterable

import (
	"net/http"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/ratelimit"
)

// The limiters of internal/ratelimit slot into the client as Adaptive, so
// they hear every answer.
var _ Adaptive = (*ratelimit.Adaptive)(nil)

// TestTooManyRequestsSlowsRealLimiter checks that a 429 pauses the next
// request through a real adaptive limiter for as long as Retry-After asked.
func TestTooManyRequestsSlowsRealLimiter(t *testing.T) {
	t.Parallel()
	_, srv := newFake(t, http.StatusTooManyRequests, `{"msg":"slow down","code":"RateLimitExceeded"}`, "Retry-After", "1")
	lim := ratelimit.NewAdaptiveLocal(ratelimit.AIMD{Max: 1000})
	c := New(srv.URL, testKey, WithLookupLimiter(lim))
	if _, err := c.UserExists(t.Context(), email("ann@example.com")); !IsTransient(err) {
		t.Fatalf("429: err = %v, want transient", err)
	}
	start := time.Now()
	_, _ = c.UserExists(t.Context(), email("ann@example.com"))
	if d := time.Since(start); d < 800*time.Millisecond {
		t.Fatalf("request after a 429 with Retry-After: 1 went out after %s", d)
	}
	if r := lim.Rate(); r >= 1000 {
		t.Errorf("pace after a 429 still %v/s, want lowered", r)
	}
}
