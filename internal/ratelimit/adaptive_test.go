package ratelimit

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// The local limiter's timing runs on the synctest bubble's clock: sleeps
// end exactly when due, so the pace can be asserted to the nanosecond
// without depending on how busy the machine is.

// grantTimes waits on l from workers goroutines until ctx ends and returns
// when each wait returned, in order.
func grantTimes(ctx context.Context, l *Adaptive, workers int) []time.Time {
	var (
		mu  sync.Mutex
		out []time.Time
		wg  sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for {
				if _, err := l.Wait(ctx); err != nil {
					return
				}
				mu.Lock()
				out = append(out, time.Now())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b time.Time) int { return a.Compare(b) })
	return out
}

// wantSpaced fails unless consecutive grants are at least interval apart.
func wantSpaced(t *testing.T, grants []time.Time, interval time.Duration) {
	t.Helper()
	for i := 1; i < len(grants); i++ {
		if gap := grants[i].Sub(grants[i-1]); gap < interval {
			t.Errorf("grants %d and %d only %s apart, want at least %s: a burst", i-1, i, gap, interval)
		}
	}
}

func TestAdaptiveLocalPacesEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewAdaptiveLocal(AIMD{Max: 20})
		ctx, cancel := context.WithTimeout(t.Context(), 990*time.Millisecond)
		defer cancel()
		grants := grantTimes(ctx, l, 1)
		// One at once, then one every 50 ms: 0, 50, …, 950.
		if len(grants) != 20 {
			t.Errorf("%d grants in 990 ms at 20/s, want 20", len(grants))
		}
		wantSpaced(t, grants, 50*time.Millisecond)
	})
}

func TestAdaptiveLocalWaitersShareThePace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewAdaptiveLocal(AIMD{Max: 20})
		ctx, cancel := context.WithTimeout(t.Context(), 990*time.Millisecond)
		defer cancel()
		grants := grantTimes(ctx, l, 4)
		if len(grants) != 20 {
			t.Errorf("%d grants to 4 waiters in 990 ms at 20/s, want 20", len(grants))
		}
		wantSpaced(t, grants, 50*time.Millisecond)
	})
}

// lateBackend stalls every other grant by late after the waiter's sleep is
// over: a waiter that wakes late, on a busy core or in a stalled process.
type lateBackend struct {
	*localBackend
	late time.Duration
	n    int // guarded by the spacer's turn
}

func (b *lateBackend) grant(ctx context.Context) (float64, error) {
	b.n++
	if b.n%2 == 0 {
		time.Sleep(b.late)
	}
	return b.localBackend.grant(ctx)
}

// TestAdaptiveLocalLateWakeDoesNotBurst checks that a waiter leaving late
// pushes the next one back: slots handed out at fixed instants would let
// the next waiter leave right behind the late one, two requests that reach
// Iterable as a burst.
func TestAdaptiveLocalLateWakeDoesNotBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := AIMD{Max: 20}.withDefaults()
		l := newAdaptive(p, &lateBackend{localBackend: &localBackend{p: p}, late: 30 * time.Millisecond}, "local")
		ctx, cancel := context.WithTimeout(t.Context(), 990*time.Millisecond)
		defer cancel()
		grants := grantTimes(ctx, l, 3)
		wantSpaced(t, grants, 50*time.Millisecond)
		// Every other interval is 80 ms: the pace falls below the rate,
		// never above it.
		if len(grants) < 10 || len(grants) > 16 {
			t.Errorf("%d grants in 990 ms with every other wake 30 ms late, want 13 or so", len(grants))
		}
	})
}

func TestAdaptiveLocalThrottledPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewAdaptiveLocal(AIMD{Max: 1000})
		if err := l.Throttled(t.Context(), 200*time.Millisecond, 0); err != nil {
			t.Fatal(err)
		}
		if waited, err := l.Wait(t.Context()); err != nil || waited < 200*time.Millisecond {
			t.Fatalf("waited %s (%v) after a 429 asking for 200 ms", waited, err)
		}
		// A shorter pause does not cut a longer one short.
		_ = l.Throttled(t.Context(), 300*time.Millisecond, 0)
		_ = l.Throttled(t.Context(), time.Millisecond, 0)
		if waited, err := l.Wait(t.Context()); err != nil || waited < 300*time.Millisecond {
			t.Fatalf("waited %s (%v) after 429s asking for 300 ms, then 1 ms", waited, err)
		}
	})
}

// TestAdaptiveLocalThrottledHoldsWaitingCallers checks that a 429 also
// holds back a caller already waiting for its slot, not only later ones.
func TestAdaptiveLocalThrottledHoldsWaitingCallers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewAdaptiveLocal(AIMD{Max: 1}) // one a second
		start := time.Now()
		if _, err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		left := make(chan time.Time)
		go func() {
			_, _ = l.Wait(t.Context()) // due at 1 s
			left <- time.Now()
		}()
		time.Sleep(500 * time.Millisecond)
		if err := l.Throttled(t.Context(), 2*time.Second, 0); err != nil {
			t.Fatal(err)
		}
		if at := (<-left).Sub(start); at < 2500*time.Millisecond {
			t.Errorf("the waiting caller left at %s, before the pause of a 429 at 500 ms for 2 s was over", at)
		}
	})
}

func TestAdaptiveLocalHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewAdaptiveLocal(AIMD{Max: 0.5}) // one every 2 s
		if _, err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait on a cancelled context = %v, want context.Canceled", err)
		}

		// A caller sleeping towards its slot, and one queued behind it,
		// both give up when their contexts end, and say how long they
		// waited.
		sleeping, cancelSleeping := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancelSleeping()
		queued, cancelQueued := context.WithCancel(t.Context())
		type result struct {
			waited time.Duration
			err    error
		}
		results := make(chan result, 2)
		go func() {
			d, err := l.Wait(sleeping)
			results <- result{d, err}
		}()
		synctest.Wait() // the first holds the turn
		go func() {
			d, err := l.Wait(queued)
			results <- result{d, err}
		}()
		time.Sleep(100 * time.Millisecond)
		cancelQueued()
		if r := <-results; !errors.Is(r.err, context.Canceled) || r.waited != 100*time.Millisecond {
			t.Errorf("queued caller: waited %s, %v; want 100ms, context.Canceled", r.waited, r.err)
		}
		if r := <-results; !errors.Is(r.err, context.DeadlineExceeded) || r.waited != 300*time.Millisecond {
			t.Errorf("sleeping caller: waited %s, %v; want 300ms, context.DeadlineExceeded", r.waited, r.err)
		}
	})
}

func TestAdaptiveLocalUnlimited(t *testing.T) {
	for _, limit := range []float64{0, -1, math.Inf(1), math.NaN()} {
		synctest.Test(t, func(t *testing.T) {
			l := NewAdaptiveLocal(AIMD{Max: limit})
			start := time.Now()
			for range 1000 {
				if _, err := l.Wait(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			// On the bubble's clock any sleep would show.
			if d := time.Since(start); d != 0 {
				t.Errorf("Max %v: 1000 waits took %s, want none", limit, d)
			}
			if !math.IsInf(l.Rate(), 1) {
				t.Errorf("Max %v: Rate() = %v, want +Inf", limit, l.Rate())
			}
		})
	}
}
