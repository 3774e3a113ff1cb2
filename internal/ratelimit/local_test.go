package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestLocalPacesEvenly(t *testing.T) {
	t.Parallel()
	l := NewLocal(20)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()

	var grants []time.Time
	for {
		if _, err := l.Wait(ctx); err != nil {
			break
		}
		grants = append(grants, time.Now())
	}
	// 1 immediately, then one every 50 ms: ≈20 in a second.
	if n := len(grants); n < 15 || n > 22 {
		t.Fatalf("grants in 1s at 20/s = %d, want 15..22", n)
	}
	for i := 1; i < len(grants); i++ {
		if gap := grants[i].Sub(grants[i-1]); gap < 40*time.Millisecond {
			t.Errorf("grants %d and %d only %s apart: a burst", i-1, i, gap)
		}
	}
}

func TestLocalConcurrentWaitersShareThePace(t *testing.T) {
	t.Parallel()
	l := NewLocal(20)
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()

	counts := make(chan int)
	for range 4 {
		go func() {
			n := 0
			for {
				if _, err := l.Wait(ctx); err != nil {
					counts <- n
					return
				}
				n++
			}
		}()
	}
	total := 0
	for range 4 {
		total += <-counts
	}
	if total < 15 || total > 22 {
		t.Fatalf("grants to 4 waiters in 1s at 20/s = %d, want 15..22", total)
	}
}

func TestLocalPenalizePauses(t *testing.T) {
	t.Parallel()
	l := NewLocal(1000)
	if err := l.Penalize(t.Context(), 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	waited, err := l.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if waited < 150*time.Millisecond {
		t.Fatalf("waited %s after a 200ms penalty", waited)
	}
	// A shorter penalty does not shorten a longer one.
	_ = l.Penalize(t.Context(), 300*time.Millisecond)
	_ = l.Penalize(t.Context(), time.Millisecond)
	if waited, _ := l.Wait(t.Context()); waited < 250*time.Millisecond {
		t.Fatalf("waited %s after a 300ms penalty", waited)
	}
}

func TestLocalHonoursContext(t *testing.T) {
	t.Parallel()
	l := NewLocal(0.5) // one every 2 s
	if _, err := l.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context = %v, want context.Canceled", err)
	}
}

func TestLocalUnlimited(t *testing.T) {
	t.Parallel()
	l := NewLocal(0)
	start := time.Now()
	for range 1000 {
		if _, err := l.Wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("1000 unlimited waits took %s", d)
	}
}
