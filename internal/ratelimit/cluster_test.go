package ratelimit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestGlobalOnRedisCluster builds the limiters as a sync does (New, scope
// global) in three processes, each with its own cluster client: together
// they stay within the budget, and a 429's penalty in one holds the others.
// redis_rate's script and the penalty script each touch one key, so they
// run on whichever master owns its slot.
func TestGlobalOnRedisCluster(t *testing.T) {
	t.Parallel()
	cluster := testenv.StartRedisCluster(t)
	cfg := config.RateLimit{BulkUpdatePerSecond: 10, LookupPerSecond: 100, Share: 1, Scope: ScopeGlobal}
	var procs []Pacer
	for range 3 {
		bulk, _, err := New(cfg, cluster.Client(), "cluster-sync", "attrsync")
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, bulk)
	}

	const window = 1500 * time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), window)
	defer cancel()
	var (
		mu     sync.Mutex
		grants int
		errs   []error
		wg     sync.WaitGroup
	)
	for _, p := range procs {
		wg.Go(func() {
			for {
				_, err := p.Wait(ctx)
				mu.Lock()
				if err != nil {
					if !errors.Is(err, context.DeadlineExceeded) {
						errs = append(errs, err)
					}
					mu.Unlock()
					return
				}
				grants++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("limiter errors on the cluster: %v", errs)
	}
	if maxGrants := int(10*window.Seconds()) + 2; grants > maxGrants || grants < maxGrants*8/10 {
		t.Fatalf("%d grants in %s at 10/s over 3 processes, want %d..%d", grants, window, maxGrants*8/10, maxGrants)
	}

	if err := procs[0].Penalize(t.Context(), 300*time.Millisecond); err != nil {
		t.Fatalf("Penalize: %v", err)
	}
	waited, err := procs[2].Wait(t.Context())
	if err != nil || waited < 200*time.Millisecond {
		t.Fatalf("another process waited %s (%v) after a 300ms penalty", waited, err)
	}
}
