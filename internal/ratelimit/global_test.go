package ratelimit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/testenv"
)

func newRedisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// TestGlobalSharedBudget runs three limiters on separate clients, as three
// processes would, against one key at 10/s.
func TestGlobalSharedBudget(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	const (
		perSecond = 10.0
		window    = 1500 * time.Millisecond
	)
	ctx, cancel := context.WithTimeout(t.Context(), window)
	defer cancel()

	var (
		mu     sync.Mutex
		grants []time.Time
		errs   []error
		wg     sync.WaitGroup
	)
	for range 3 {
		l := NewGlobal(newRedisClient(t, r.Addr), "test:shared", perSecond)
		for range 2 { // two workers per process
			wg.Go(func() {
				for {
					_, err := l.Wait(ctx)
					mu.Lock()
					if err != nil {
						if !errors.Is(err, context.DeadlineExceeded) {
							errs = append(errs, err)
						}
						mu.Unlock()
						return
					}
					grants = append(grants, time.Now())
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}

	maxGrants := int(perSecond*window.Seconds()) + 2
	if n := len(grants); n > maxGrants || n < maxGrants*8/10 {
		t.Fatalf("grants in %s at %g/s over 3 processes = %d, want %d..%d", window, perSecond, n, maxGrants*8/10, maxGrants)
	}
	slices.SortFunc(grants, func(a, b time.Time) int { return a.Compare(b) })
	for i := range grants {
		in := 0
		for j := i; j < len(grants) && grants[j].Sub(grants[i]) < 300*time.Millisecond; j++ {
			in++
		}
		if in > 4 {
			t.Fatalf("%d grants within 300ms from grant %d: a burst above 10/s", in, i)
		}
	}
}

func TestGlobalFractionalRate(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	l := NewGlobal(newRedisClient(t, r.Addr), "test:fraction", 2.5) // one every 400 ms
	ctx, cancel := context.WithTimeout(t.Context(), 1300*time.Millisecond)
	defer cancel()
	n := 0
	for {
		if _, err := l.Wait(ctx); err != nil {
			break
		}
		n++
	}
	// Grants at 0, 400, 800, 1200 ms.
	if n < 3 || n > 4 {
		t.Fatalf("grants in 1.3s at 2.5/s = %d, want 3..4", n)
	}
}

func TestGlobalPenalizeReachesOtherProcesses(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	a := NewGlobal(newRedisClient(t, r.Addr), "test:penalty", 1000)
	b := NewGlobal(newRedisClient(t, r.Addr), "test:penalty", 1000)
	if err := a.Penalize(t.Context(), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	// A shorter penalty from another process does not cut it short.
	if err := b.Penalize(t.Context(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waited, err := b.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if waited < 200*time.Millisecond {
		t.Fatalf("other process waited %s after a 300ms penalty", waited)
	}
}

func TestGlobalRedisDown(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	l := NewGlobal(rdb, "test:down", 10)
	r.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := l.Wait(ctx); err == nil {
		t.Fatal("Wait with Redis down succeeded")
	}
	// The local part of a penalty holds even when Redis is unreachable.
	if err := l.Penalize(ctx, time.Minute); err == nil {
		t.Fatal("Penalize with Redis down reported no error")
	}
	if l.pause.remaining() == 0 {
		t.Fatal("local pause not applied")
	}
}
