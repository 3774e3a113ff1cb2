package state_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
)

// keysPerMaster counts the keys under prefix on each master of a cluster.
func keysPerMaster(t *testing.T, rdb *redis.ClusterClient, prefix string) map[string]int {
	t.Helper()
	var mu sync.Mutex // ForEachMaster calls in parallel
	out := map[string]int{}
	err := rdb.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
		keys, err := node.Keys(ctx, prefix+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		out[node.Options().Addr] = len(keys)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// redirects sums the MOVED errors the cluster's masters have answered.
func redirects(t *testing.T, rdb *redis.ClusterClient) int {
	t.Helper()
	var mu sync.Mutex
	total := 0
	err := rdb.ForEachMaster(t.Context(), func(ctx context.Context, node *redis.Client) error {
		info, err := node.Info(ctx, "errorstats").Result()
		for _, line := range strings.Split(info, "\r\n") {
			var n int
			if _, scanErr := fmt.Sscanf(line, "errorstat_MOVED:count=%d", &n); scanErr == nil {
				mu.Lock()
				total += n
				mu.Unlock()
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// TestStoreOnRedisCluster runs the state's whole life on a three-master
// cluster: a batch's users spread over buckets in every slot range, so
// every pipeline (Load, Save, Intend) must be split per node, layouts are
// read from whichever node holds them, and Reset must reach every master.
func TestStoreOnRedisCluster(t *testing.T) {
	ctx := t.Context()
	cluster := testenv.StartRedisCluster(t)
	rdb := cluster.Client()
	s := newStore(t, rdb, "firstName", "planTier")

	const n = 1000
	users := make([]change.Identifier, n)
	for i := range users {
		users[i] = change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%04d@example.com", i)}
	}
	at := func(i int) change.Position {
		return change.Position{Topic: "users", Partition: i % 6, Offset: int64(100 + i)}
	}
	vals := func(i int) []change.Attr {
		return []change.Attr{attr("firstName", fmt.Sprintf(`"name-%d"`, i)), attr("planTier", `"pro"`)}
	}

	recs, err := s.Load(ctx, users)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	positions := make([]change.Position, n)
	for i := range users {
		positions[i] = at(i)
	}
	sw, err := s.Intend(ctx, users, recs, positions, time.Now())
	if err != nil {
		t.Fatalf("Intend: %v", err)
	}
	for i, w := range sw {
		if !w.Done {
			t.Fatalf("user %d: intent not written", i)
		}
	}
	recs, err = s.Load(ctx, users)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	for i, r := range recs {
		if r.Found || !r.Uncertain() {
			t.Fatalf("user %d after Intend: found %v, in doubt %v; want in doubt only", i, r.Found, r.Uncertain())
		}
		recs[i] = s.Apply(r, vals(i), at(i), false, time.Now())
	}
	mustSave(t, s, users, recs)
	per := keysPerMaster(t, rdb, "attrsync:test:s:")
	if len(per) != 3 {
		t.Fatalf("bucket keys on %d masters (%v), want all 3", len(per), per)
	}
	for addr, k := range per {
		if k == 0 {
			t.Errorf("master %s holds no bucket: the batch did not spread over the cluster", addr)
		}
	}

	// Every command went straight to the master of its key's slot: the
	// reads name their keys as *string arguments (hgetArgs), which
	// go-redis must route by the string, not by the pointer.
	if moved := redirects(t, rdb); moved != 0 {
		t.Errorf("masters answered MOVED %d times: commands went to the wrong node", moved)
	}

	// A process with another mapping reads the same records through the
	// layout key, wherever its slot lives.
	later := newStore(t, rdb, "planTier", "firstName", "city")
	recs, err = later.Load(ctx, users)
	if err != nil {
		t.Fatalf("Load under a new mapping: %v", err)
	}
	for i, r := range recs {
		if !r.Found || r.Uncertain() || !r.Stale(at(i)) {
			t.Fatalf("user %d: found %v, in doubt %v, stale at its position %v", i, r.Found, r.Uncertain(), r.Stale(at(i)))
		}
		if got := names(later.Changed(r, append(vals(i), attr("city", `"Oslo"`)))); strings.Join(got, ",") != "city" {
			t.Fatalf("user %d: changed %v, want only the new attribute", i, got)
		}
	}
	rec, attrs, err := s.Inspect(ctx, users[7])
	if err != nil || !rec.Found || rec.Offset != 107 || len(attrs) != 2 {
		t.Errorf("Inspect: %+v %v %v", rec, attrs, err)
	}

	// Reset drops this sync's state on every master, and only this sync's.
	keep := change.Identifier{Kind: change.Email, Value: "other@example.com"}
	o, _ := state.New(ctx, rdb, "attrsync", "other", []string{"firstName"})
	mustSave(t, o, []change.Identifier{keep}, []state.Record{o.Apply(state.Record{}, vals(0)[:1], at(0), false, time.Now())})
	dropped, err := s.Reset(ctx)
	if err != nil || dropped != n {
		t.Fatalf("Reset = %d, %v; want %d users", dropped, err, n)
	}
	for addr, k := range keysPerMaster(t, rdb, "attrsync:test:") {
		if k != 0 {
			t.Errorf("master %s still holds %d keys of the sync", addr, k)
		}
	}
	if recs, err := s.Load(ctx, users[:10]); err != nil || recs[3].Found {
		t.Errorf("state survived Reset: %v", err)
	}
	if recs, err := o.Load(ctx, []change.Identifier{keep}); err != nil || !recs[0].Found {
		t.Errorf("Reset dropped another sync's state: %v", err)
	}
}
