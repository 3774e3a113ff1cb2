package state_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// stores runs f against a store over Redis and one in memory: the pipeline's
// unit tests rely on both behaving alike.
func stores(t *testing.T, f func(t *testing.T, s *state.Store)) {
	t.Run("redis", func(t *testing.T) { f(t, newStore(t, client(t), "firstName", "planTier")) })
	t.Run("memory", func(t *testing.T) { f(t, state.NewInMemory("test", []string{"firstName", "planTier"})) })
}

func TestTombstoneKeepsPositionAndCountsAsGone(t *testing.T) {
	stores(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		ann := []change.Identifier{{Kind: change.Email, Value: "ann@example.com"}}
		pos := change.Position{Topic: "users", Partition: 1, Offset: 10}
		recs, _ := s.Load(ctx, ann)
		mustSave(t, s, ann, []state.Record{s.Apply(recs[0], []change.Attr{attr("firstName", `"Ann"`)}, pos, false, time.Now())})
		recs, _ = s.Load(ctx, ann)
		if !recs[0].Exists() || recs[0].Gone {
			t.Fatalf("synced user: exists %v gone %v", recs[0].Exists(), recs[0].Gone)
		}

		del := change.Position{Topic: "users", Partition: 1, Offset: 12}
		now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		mustSave(t, s, ann, []state.Record{state.Tombstone(recs[0], del, true, now)})
		recs, _ = s.Load(ctx, ann)
		r := recs[0]
		if r.Exists() || !r.Gone || !r.Deleted || !r.AcceptedAt.Equal(now) {
			t.Fatalf("deleted user: exists %v gone %v deleted %v at %v", r.Exists(), r.Gone, r.Deleted, r.AcceptedAt)
		}
		if !r.Stale(change.Position{Topic: "users", Partition: 1, Offset: 11}) || r.Stale(change.Position{Topic: "users", Partition: 1, Offset: 13}) {
			t.Error("a tombstone must keep older messages stale and take newer ones")
		}
		if got := s.Changed(r, []change.Attr{attr("firstName", `"Ann"`)}); len(got) != 1 {
			t.Error("a user coming back after a delete must be sent whole")
		}
		// An intent on a tombstone (the user's re-insert on its way) keeps
		// the flags; what Iterable accepts makes the user exist again.
		sw, err := s.Intend(ctx, ann, recs, []change.Position{{Topic: "users", Partition: 1, Offset: 14}}, time.Now())
		if err != nil || !sw[0].Done {
			t.Fatalf("intend on a tombstone: %v %+v", err, sw)
		}
		recs, _ = s.Load(ctx, ann)
		if !recs[0].Deleted || !recs[0].Uncertain() {
			t.Fatalf("intended tombstone: deleted %v uncertain %v", recs[0].Deleted, recs[0].Uncertain())
		}
		back := s.Apply(recs[0], []change.Attr{attr("firstName", `"Ann"`)}, change.Position{Topic: "users", Partition: 1, Offset: 14}, false, time.Now())
		mustSave(t, s, ann, []state.Record{back})
		recs, _ = s.Load(ctx, ann)
		if !recs[0].Exists() || recs[0].Deleted || recs[0].Uncertain() {
			t.Fatalf("re-inserted user: exists %v deleted %v", recs[0].Exists(), recs[0].Deleted)
		}
	})
}

func TestMovedCarriesFingerprints(t *testing.T) {
	stores(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		ids := []change.Identifier{{Kind: change.Email, Value: "old@example.com"}, {Kind: change.Email, Value: "new@example.com"}}
		pos := change.Position{Topic: "users", Offset: 3}
		recs, _ := s.Load(ctx, ids)
		sent := []change.Attr{attr("firstName", `"Ann"`), attr("planTier", `"pro"`)}
		mustSave(t, s, ids[:1], []state.Record{s.Apply(recs[0], sent, pos, false, time.Now())})
		recs, _ = s.Load(ctx, ids)
		move := change.Position{Topic: "users", Offset: 9}
		mustSave(t, s, ids, []state.Record{state.Tombstone(recs[0], move, false, time.Now()), state.Moved(recs[0], recs[1])})
		recs, _ = s.Load(ctx, ids)
		if recs[0].Exists() || recs[0].Deleted || !recs[1].Exists() {
			t.Fatalf("after the move: old exists %v deleted %v, new exists %v", recs[0].Exists(), recs[0].Deleted, recs[1].Exists())
		}
		changed := s.Changed(recs[1], []change.Attr{attr("firstName", `"Ann"`), attr("planTier", `"team"`)})
		if len(changed) != 1 || changed[0].Name != "planTier" {
			t.Errorf("after the move only planTier changed, got %v", names(changed))
		}
		if recs[1].Stale(move) {
			t.Error("the moving message itself must not be stale for the new email")
		}
	})
}

func TestRowsIndex(t *testing.T) {
	stores(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		k1, k2 := state.RowKeyOf("users", []byte(`{"id":1}`)), state.RowKeyOf("users", []byte(`{"id":2}`))
		if k1 == k2 || state.RowKeyOf("other", []byte(`{"id":1}`)) == k1 || !state.RowKeyOf("users", nil).IsZero() {
			t.Fatal("row keys must tell rows and topics apart")
		}
		ann := change.Identifier{Kind: change.Email, Value: "ann@example.com"}
		rows, _, err := s.Lookup(ctx, []state.RowKey{k1, {}, k2}, nil)
		if err != nil || len(rows) != 3 || !rows[0].User.IsZero() {
			t.Fatalf("empty index: %+v %v", rows, err)
		}
		pos := change.Position{Topic: "users", Partition: 2, Offset: 7}
		sw, err := s.SaveRows(ctx, []state.RowKey{k1}, []state.Row{rows[0].Pointing(ann, pos)})
		if err != nil || !sw[0].Done {
			t.Fatalf("save row: %v %+v", err, sw)
		}
		// A writer that read the row before is refused and told what is there.
		sw, err = s.SaveRows(ctx, []state.RowKey{k1}, []state.Row{rows[0].Pointing(change.Identifier{Kind: change.Email, Value: "x@example.com"}, pos)})
		if err != nil || sw[0].Done || sw[0].Row.User != ann {
			t.Fatalf("stale row write: %v %+v", err, sw)
		}
		rows, _, _ = s.Lookup(ctx, []state.RowKey{k1}, nil)
		if rows[0].User != ann || rows[0].Partition != 2 || rows[0].Offset != 7 {
			t.Fatalf("row read back %+v", rows[0])
		}
		if rows[0].Before(pos) || !rows[0].Before(change.Position{Topic: "users", Partition: 2, Offset: 8}) {
			t.Error("a row moves only forward")
		}
		// Forgetting the row (its user was deleted) empties it.
		if sw, err := s.SaveRows(ctx, []state.RowKey{k1}, []state.Row{rows[0].Pointing(change.Identifier{}, pos)}); err != nil || !sw[0].Done {
			t.Fatalf("forget row: %v", err)
		}
		rows, _, _ = s.Lookup(ctx, []state.RowKey{k1}, nil)
		if !rows[0].User.IsZero() {
			t.Fatalf("forgotten row reads %+v", rows[0])
		}
	})
}

func TestLookupReadsTheExistenceSet(t *testing.T) {
	stores(t, func(t *testing.T, s *state.Store) {
		ctx := context.Background()
		ids := emails(3, "u%d@example.com")
		if err := s.MarkExisting(ctx, ids[:2]); err != nil {
			t.Fatal(err)
		}
		if err := s.Unmark(ctx, ids[1:2]); err != nil {
			t.Fatal(err)
		}
		_, got, err := s.Lookup(ctx, nil, ids)
		if err != nil || !got[0] || got[1] || got[2] {
			t.Fatalf("existence %v, %v: want [true false false]", got, err)
		}
	})
	// What `attrsync prime` writes is what Lookup reads.
	rdb := client(t)
	s := newStore(t, rdb, "firstName")
	ids := emails(2, "p%d@example.com")
	set, err := state.NewExistence(context.Background(), rdb, "attrsync", "test")
	if err != nil {
		t.Fatal(err)
	}
	if err := set.MarkExisting(context.Background(), ids[:1]); err != nil {
		t.Fatal(err)
	}
	if _, got, err := s.Lookup(context.Background(), nil, ids); err != nil || !got[0] || got[1] {
		t.Fatalf("primed existence %v, %v", got, err)
	}
}

// TestRowIndexMemoryPerRow measures what the row index costs in Redis per
// row, with the README's listpack settings (testenv's redis-server), for
// emails of 24 characters, and holds it to the README's figure.
func TestRowIndexMemoryPerRow(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200k rows")
	}
	ctx := context.Background()
	rdb := client(t)
	s := newStore(t, rdb, "firstName")
	before := usedMemory(t, rdb)
	const rows = 200_000
	for i := 0; i < rows; i += 1000 {
		keys := make([]state.RowKey, 1000)
		vals := make([]state.Row, 1000)
		for j := range keys {
			keys[j] = state.RowKeyOf("app.public.users", fmt.Appendf(nil, `{"id":%d}`, i+j))
			user := change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%07d@example.com", i+j)}
			vals[j] = state.Row{}.Pointing(user, change.Position{Topic: "app.public.users", Partition: 3, Offset: int64(10_000_000 + i + j)})
		}
		if _, err := s.SaveRows(ctx, keys, vals); err != nil {
			t.Fatal(err)
		}
	}
	per := float64(usedMemory(t, rdb)-before) / rows
	t.Logf("redis memory per row of the index: %.1f bytes", per)
	if per > 56 {
		t.Errorf("a row costs %.1f bytes, over the README's 56", per)
	}
}
