package state_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/redis/go-redis/v9"
)

func emails(n int, format string) []change.Identifier {
	ids := make([]change.Identifier, n)
	for i := range ids {
		ids[i] = change.Identifier{Kind: change.Email, Value: fmt.Sprintf(format, i)}
	}
	return ids
}

func TestExistenceSet(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	e := existence(t, rdb, "test")
	primed := emails(2500, "user%d@example.com")
	if err := e.MarkExisting(ctx, primed); err != nil {
		t.Fatal(err)
	}
	// Marking again is harmless.
	if err := e.MarkExisting(ctx, primed[:10]); err != nil {
		t.Fatal(err)
	}

	asked := append(slices.Clone(primed[:3]),
		change.Identifier{Kind: change.Email, Value: "nobody@example.com"},
		change.Identifier{Kind: change.UserID, Value: "user0@example.com"}, // same text, other kind
	)
	got, err := e.Exists(ctx, asked)
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, true, false, false}; !slices.Equal(got, want) {
		t.Errorf("Exists = %v, want %v", got, want)
	}
	if n, err := e.Count(ctx); err != nil || n != 2500 {
		t.Errorf("Count = %d, %v; want 2500", n, err)
	}

	// Another sync has its own set, and the per-user records are untouched.
	if got, _ := existence(t, rdb, "other").Exists(ctx, primed[:1]); got[0] {
		t.Error("another sync sees this sync's set")
	}
	s := newStore(t, rdb, "firstName")
	if recs, err := s.Load(ctx, primed[:1]); err != nil || recs[0].Found {
		t.Errorf("a primed user has a record: %+v, %v", recs, err)
	}
	if _, got, err := s.Lookup(ctx, nil, primed[:1]); err != nil || !got[0] {
		t.Errorf("the store does not read the sync's set: %v, %v", got, err)
	}

	if err := e.Unmark(ctx, primed[:1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Exists(ctx, primed[:2]); got[0] || !got[1] {
		t.Errorf("after Unmark of the first: %v", got)
	}

	// state reset drops the set.
	if _, err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := e.Count(ctx); n != 0 {
		t.Errorf("%d users still marked after Reset", n)
	}
	if got, err := e.Exists(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("Exists(nil) = %v, %v", got, err)
	}
}

// TestExistenceMemoryPerUser measures what one primed user costs in Redis
// (used_memory, listpack settings of the README).
func TestExistenceMemoryPerUser(t *testing.T) {
	if testing.Short() {
		t.Skip("marks 200k users")
	}
	ctx := context.Background()
	rdb := client(t)
	e := existence(t, rdb, "test")
	per, fixed := memoryCost(t, rdb, 200_000, func(lo, hi int) {
		batch := make([]change.Identifier, 0, hi-lo)
		for i := lo; i < hi; i++ {
			batch = append(batch, change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%07d@example.com", i)})
		}
		if err := e.MarkExisting(ctx, batch); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("redis memory per primed user: %.1f bytes, and %.1f MiB for the bucket hashes themselves", per, fixed/(1<<20))
	if per > 24 {
		t.Errorf("a primed user costs %.1f bytes, over the 24-byte budget", per)
	}
	if fixed > 4<<20 {
		t.Errorf("the bucket hashes cost %.1f MiB of their own, over the 4 MiB budget", fixed/(1<<20))
	}
}

// existence opens the existence set of sync in rdb.
func existence(t *testing.T, rdb redis.UniversalClient, sync string) *state.Existence {
	t.Helper()
	e, err := state.NewExistence(context.Background(), rdb, "attrsync", sync)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
