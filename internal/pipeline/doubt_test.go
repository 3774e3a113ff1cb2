package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// TestCrashAfterIterableAcceptedBeforeStateSaved reproduces the window
// between Iterable accepting a request and the state recording it: the
// request for version 6 (planTier pro) was applied, then the process died.
// The next owner consumes versions 6 and 7 (planTier back to team, the
// value the state still holds). Iterable must end at version 7 with
// planTier team, never going back in between; trusting the stale
// fingerprints would call team "unchanged" and leave pro in Iterable.
func TestCrashAfterIterableAcceptedBeforeStateSaved(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	ctx := context.Background()
	row := func(v int, tier string) testenv.Row {
		return testenv.Row{"email": "ann@example.com", "first_name": "Ann", "plan": map[string]any{"tier": tier}, "version": v, "signup_at": 1700000000000}
	}
	cfg := e.config("g", "batch: {max_users: 50, max_wait: 300ms}")
	e.Kafka.Produce(topic, testenv.Upsert(1, row(5, "team")))
	r := e.start(cfg)
	r.WaitFinished(1)
	e.waitCommitted("g")
	r.Close()

	// The dying process recorded its intent for offset 1 and Iterable
	// applied version 6; the state was never saved.
	rdb := redis.NewClient(&redis.Options{Addr: e.Redis.Addr})
	defer rdb.Close()
	store, err := state.New(ctx, rdb, "attrsync", "itest", testenv.StreamFields())
	if err != nil {
		t.Fatal(err)
	}
	ann := change.Identifier{Kind: change.Email, Value: "ann@example.com"}
	recs, err := store.Load(ctx, []change.Identifier{ann})
	if err != nil {
		t.Fatal(err)
	}
	// The intent was written longer ago than its lease: the process that
	// wrote it is gone, and its request cannot still be on its way.
	if _, err := store.Intend(ctx, []change.Identifier{ann}, recs, []change.Position{{Topic: topic, Partition: 0, Offset: 1}}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	api := iterable.New(e.URL, apiKey)
	if _, err := api.BulkUpdate(ctx, iterable.BulkRequest{Users: []iterable.User{{ID: ann, Fields: []change.Attr{
		{Name: "planTier", JSON: []byte(`"pro"`)}, {Name: "version", JSON: []byte(`6`)},
	}}}}); err != nil {
		t.Fatal(err)
	}

	e.Kafka.Produce(topic, testenv.Upsert(1, row(6, "pro")), testenv.Upsert(1, row(7, "team")))
	r = e.start(cfg)
	r.WaitFinished(2)
	e.waitCommitted("g")
	r.Close()

	p, _ := e.Sim.Profile("ann@example.com")
	if p.DataFields["planTier"] != "team" || p.DataFields["version"] != int64(7) {
		t.Fatalf("Iterable ended with planTier=%v version=%v, want team 7", p.DataFields["planTier"], p.DataFields["version"])
	}
	if n := e.Sim.Stats().OrderRegressions; n != 0 {
		t.Fatalf("%d order regressions", n)
	}
	recs, _ = store.Load(ctx, []change.Identifier{ann})
	if recs[0].Uncertain() {
		t.Error("the doubt was not cleared once Iterable accepted the user again")
	}
}
