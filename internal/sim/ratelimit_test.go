package sim

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The algorithm is tested on a fake clock, so these assertions are exact.
func TestGCRA(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	const interval = 200 * time.Millisecond

	t.Run("even pace at the limit is never refused", func(t *testing.T) {
		g := newGCRA(5, 0) // strict: no tolerance at all
		for i := range 1000 {
			if ok, _ := g.allow(t0.Add(time.Duration(i) * interval)); !ok {
				t.Fatalf("request %d refused", i)
			}
		}
	})
	t.Run("jitter within tolerance is absorbed", func(t *testing.T) {
		// A late request followed by an early one arrives closer to its
		// predecessor by the difference of their delays (here up to 40 ms),
		// which the tolerance (50 ms) must cover.
		g := newGCRA(5, 50*time.Millisecond)
		for i := range 1000 {
			jitter := time.Duration((i%3)-1) * 20 * time.Millisecond // -20, 0, +20 ms
			if ok, _ := g.allow(t0.Add(time.Duration(i)*interval + jitter)); !ok {
				t.Fatalf("request %d refused", i)
			}
		}
	})
	t.Run("burst is refused and refusals cost nothing", func(t *testing.T) {
		g := newGCRA(5, DefaultRateTolerance)
		admitted := 0
		for range 10 {
			if ok, _ := g.allow(t0); ok {
				admitted++
			}
		}
		if admitted != 1 {
			t.Fatalf("%d of a simultaneous burst admitted, want 1", admitted)
		}
		ok, retryIn := g.allow(t0.Add(10 * time.Millisecond))
		if ok || retryIn != interval-10*time.Millisecond-DefaultRateTolerance {
			t.Errorf("allow = %v, retryIn %v", ok, retryIn)
		}
		// The refused requests did not push the schedule back.
		if ok, _ := g.allow(t0.Add(interval - DefaultRateTolerance)); !ok {
			t.Error("refused at the earliest admissible time")
		}
	})
	t.Run("idle time does not bank a burst", func(t *testing.T) {
		g := newGCRA(5, DefaultRateTolerance)
		g.allow(t0)
		later := t0.Add(time.Hour)
		if ok, _ := g.allow(later); !ok {
			t.Fatal("first after idle refused")
		}
		if ok, _ := g.allow(later); ok {
			t.Error("second back-to-back after idle admitted")
		}
	})
	t.Run("long-run rate", func(t *testing.T) {
		g := newGCRA(5, DefaultRateTolerance)
		admitted := 0
		for ms := 0; ms < 10_000; ms++ { // a client hammering every millisecond for 10 s
			if ok, _ := g.allow(t0.Add(time.Duration(ms) * time.Millisecond)); ok {
				admitted++
			}
		}
		if admitted < 50 || admitted > 51 {
			t.Errorf("%d admitted in 10 s at 5/s", admitted)
		}
	})
	t.Run("unlimited", func(t *testing.T) {
		if g := newGCRA(-1, 0); g != nil {
			t.Fatal("negative rate should be unlimited")
		}
		var g *gcra
		if ok, _ := g.allow(t0); !ok {
			t.Error("nil limiter refused")
		}
	})
}

// Over HTTP with real time: a paced client sees no 429, a bursting one does.
// Rates are chosen so the test takes under a second; the default tolerance
// (150 ms) is far above loopback jitter, so the paced runs are not flaky.
func TestRateLimitHTTP(t *testing.T) {
	t.Run("paced bulkUpdate client sees no 429", func(t *testing.T) {
		s, base := newSim(t, Options{BulkUpdatePerSecond: 25}) // 40 ms interval
		body := users(map[string]any{"email": "a@example.com"})
		start := time.Now()
		for i := range 12 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 40 * time.Millisecond)))
			if r := bulk(t, base, body); r.status != http.StatusOK {
				t.Fatalf("request %d: status %d", i, r.status)
			}
		}
		if n := s.Stats().TooManyRequests; n != 0 {
			t.Errorf("%d 429s", n)
		}
	})
	t.Run("paced lookups at the default 100/s see no 429", func(t *testing.T) {
		s, base := newSim(t, Options{LookupPerSecond: DefaultLookupPerSecond})
		start := time.Now()
		for i := range 30 {
			time.Sleep(time.Until(start.Add(time.Duration(i) * 10 * time.Millisecond)))
			if r := lookup(t, base, "/api/users/getByEmail?email=a@example.com"); r.status != http.StatusOK {
				t.Fatalf("request %d: status %d", i, r.status)
			}
		}
		if n := s.Stats().TooManyRequests; n != 0 {
			t.Errorf("%d 429s", n)
		}
	})
	t.Run("burst sees 429 without Retry-After", func(t *testing.T) {
		s, base := newSim(t, Options{BulkUpdatePerSecond: DefaultBulkUpdatePerSecond})
		statuses := burst(t, base, 8)
		if statuses[http.StatusTooManyRequests] < 5 || statuses[http.StatusOK] < 1 {
			t.Fatalf("statuses %v, want 1-3 admitted and the rest 429", statuses)
		}
		var limited Request
		for _, r := range s.Requests() {
			if r.Status == http.StatusTooManyRequests {
				limited = r
			}
		}
		if !limited.RateLimited || limited.Code != "RateLimitExceeded" {
			t.Errorf("recorded %+v", limited)
		}
		st := s.Stats()
		if st.RateLimited != statuses[http.StatusTooManyRequests] || st.TooManyRequests != st.RateLimited {
			t.Errorf("stats %+v vs %v", st, statuses)
		}
	})
	t.Run("Retry-After when enabled", func(t *testing.T) {
		_, base := newSim(t, Options{BulkUpdatePerSecond: 0.5, RetryAfter: true})
		body := users(map[string]any{"email": "a@example.com"})
		bulk(t, base, body)
		r := bulk(t, base, body)
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("status %d", r.status)
		}
		if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 || secs > 2 {
			t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
		}
	})
	t.Run("endpoints have separate budgets", func(t *testing.T) {
		_, base := newSim(t, Options{BulkUpdatePerSecond: 0.5, LookupPerSecond: 0.5})
		bulk(t, base, users(map[string]any{"email": "a@example.com"}))
		if r := lookup(t, base, "/api/users/getByEmail?email=a@example.com"); r.status != http.StatusOK {
			t.Errorf("lookup after a bulkUpdate: %d", r.status)
		}
		if r := lookup(t, base, "/api/users/byUserId?userId=x"); r.status != http.StatusOK {
			t.Errorf("byUserId after getByEmail: %d", r.status)
		}
	})
}

// burst fires n bulkUpdate requests at once and counts statuses; each 429
// must be Iterable's RateLimitExceeded body with no Retry-After.
func burst(t *testing.T, base string, n int) map[int]int {
	t.Helper()
	body := users(map[string]any{"email": "a@example.com"})
	var (
		mu       sync.Mutex
		statuses = map[int]int{}
		wg       sync.WaitGroup
		start    = make(chan struct{})
	)
	for range n {
		wg.Go(func() {
			<-start
			r := bulk(t, base, body)
			if r.status == http.StatusTooManyRequests {
				if code, params := apiErr(t, r); code != "RateLimitExceeded" || params != nil {
					t.Errorf("429 body %s", r.body)
				}
				if h := r.header.Get("Retry-After"); h != "" {
					t.Errorf("Retry-After %q by default", h)
				}
			}
			mu.Lock()
			statuses[r.status]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return statuses
}
