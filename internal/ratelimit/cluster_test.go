package ratelimit

import (
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/testenv"
)

// TestAdaptiveGlobalOnRedisCluster builds the bulkUpdate limiter as a sync
// does (NewAdaptive, scope global) in three processes, each with its own
// cluster client: together they stay within the budget, and a 429 one of
// them hears holds the others back. Both scripts touch only their one key,
// so they run on whichever master owns its slot.
func TestAdaptiveGlobalOnRedisCluster(t *testing.T) {
	t.Parallel()
	cluster := testenv.StartRedisCluster(t)
	cfg := Config{BulkUpdatePerSecond: 10, LookupPerSecond: 100, Share: 1, Scope: ScopeGlobal}
	var procs []*Adaptive
	for range 3 {
		l, err := NewAdaptive(cfg, cluster.Client(), "cluster-sync", "attrsync", Budgets(cfg)[BudgetBulkUpdate])
		if err != nil {
			t.Fatal(err)
		}
		procs = append(procs, l)
	}
	grants, errs := waitAll(t.Context(), procs, 1, 1500*time.Millisecond)
	if len(errs) > 0 {
		t.Fatalf("limiter errors on the cluster: %v", errs)
	}
	wantWithinBudget(t, grants, 10, 1500*time.Millisecond)

	if err := procs[0].Throttled(t.Context(), 300*time.Millisecond, 0); err != nil {
		t.Fatalf("Throttled: %v", err)
	}
	waited, err := procs[2].Wait(t.Context())
	if err != nil || waited < 200*time.Millisecond {
		t.Fatalf("another process waited %s (%v) after a 429 asking for 300 ms", waited, err)
	}
}
