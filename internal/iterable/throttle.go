package iterable

import (
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RateLimit is what a 429 body's params said about the limit it enforces.
// Iterable documents none of these params; where a 429 carries them they
// refine the pause and the pace, and where it does not nothing depends on
// them.
type RateLimit struct {
	// Limit is rateLimitLimit: requests per the endpoint's window (a second,
	// a minute for the export); 0 when absent.
	Limit int
	// Remaining is rateLimitRemaining, -1 when absent.
	Remaining int
	// Reset is rateLimitReset as a time, zero when absent.
	Reset time.Time
}

// Backoff is what a 429 asked of its sender.
type Backoff struct {
	// Wait is how long to hold back: Retry-After, else until rateLimitReset;
	// 0 when Iterable said neither.
	Wait time.Duration
	// Limit is rateLimitLimit, 0 when absent.
	Limit int
}

// IsRateLimited reports whether err is a 429, and what it asked for. A
// caller that waits on its limiter itself (rather than giving it to the
// client) reports the backoff to it with this.
func IsRateLimited(err error) (Backoff, bool) {
	e, ok := errors.AsType[*APIError](err)
	if !ok || e.Status != http.StatusTooManyRequests {
		return Backoff{}, false
	}
	b := Backoff{Wait: e.RetryAfter}
	if e.RateLimit != nil {
		b.Limit = e.RateLimit.Limit
	}
	return b, true
}

// parseRateLimit reads the rate-limit params of a 429 body, nil when there
// are none. Values may be numbers or numeric strings. rateLimitReset is read
// as Unix milliseconds or seconds when it is that large, else as seconds
// from now, or as an RFC 3339 time.
func parseRateLimit(params json.RawMessage, now time.Time) *RateLimit {
	var p map[string]json.RawMessage
	if len(params) == 0 || json.Unmarshal(params, &p) != nil {
		return nil
	}
	rl := RateLimit{Remaining: -1}
	found := false
	if v, ok := number(p["rateLimitLimit"]); ok && v > 0 && v < math.MaxInt32 {
		rl.Limit, found = int(v), true
	}
	if v, ok := number(p["rateLimitRemaining"]); ok && v >= 0 && v < math.MaxInt32 {
		rl.Remaining, found = int(v), true
	}
	if at, ok := resetTime(p["rateLimitReset"], now); ok {
		rl.Reset, found = at, true
	}
	if !found {
		return nil
	}
	return &rl
}

// number reads a JSON number or a string holding one.
func number(raw json.RawMessage) (float64, bool) {
	if len(raw) == 0 {
		return 0, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(strings.TrimSpace(s))
	}
	v, err := strconv.ParseFloat(string(raw), 64)
	return v, err == nil && !math.IsNaN(v) && !math.IsInf(v, 0)
}

// resetTime reads rateLimitReset; see parseRateLimit.
func resetTime(raw json.RawMessage, now time.Time) (time.Time, bool) {
	if v, ok := number(raw); ok && v > 0 {
		switch {
		case v >= 1e12:
			return time.UnixMilli(int64(v)), true
		case v >= 1e9:
			return time.Unix(int64(v), 0), true
		case v <= maxRetryAfterValue.Seconds():
			return now.Add(time.Duration(v * float64(time.Second))), true
		}
		return time.Time{}, false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if at, err := time.Parse(time.RFC3339, s); err == nil {
			return at, true
		}
	}
	return time.Time{}, false
}

// clampDelay keeps a delay Iterable asked for within reason: past instants
// and absurd values count as none.
func clampDelay(d time.Duration) time.Duration {
	if d <= 0 || d > maxRetryAfterValue {
		return 0
	}
	return d
}
