package state_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/redis/go-redis/v9"
)

const bucketsKey = "attrsync:test:buckets"

// saveUsers writes n users (firstName = their number, at offset 10+i) with
// s and returns them.
func saveUsers(t *testing.T, s *state.Store, n int) []change.Identifier {
	t.Helper()
	ids := emails(n, "bucket%d@example.com")
	for lo := 0; lo < n; lo += 1000 {
		hi := min(lo+1000, n)
		recs := make([]state.Record, 0, hi-lo)
		for i := lo; i < hi; i++ {
			recs = append(recs, s.Apply(state.Record{}, []change.Attr{attr("firstName", strconv.Itoa(i))}, change.Position{Topic: "users", Offset: int64(10 + i)}, false, time.Now()))
		}
		mustSave(t, s, ids[lo:hi], recs)
	}
	return ids
}

// found counts the users s has a record of, checking each one's offset.
func found(t *testing.T, s *state.Store, ids []change.Identifier) int {
	t.Helper()
	recs, err := s.Load(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, r := range recs {
		if r.Found {
			n++
			if r.Offset != int64(10+i) {
				t.Errorf("user %d: offset %d, want %d", i, r.Offset, 10+i)
			}
		}
	}
	return n
}

// recordBuckets returns how many record bucket hashes the sync has, and the
// highest bucket number.
func recordBuckets(t *testing.T, rdb *redis.Client) (n, highest int) {
	t.Helper()
	keys, err := rdb.Keys(context.Background(), "attrsync:test:s:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		b, err := strconv.Atoi(strings.TrimPrefix(k, "attrsync:test:s:"))
		if err != nil {
			t.Fatalf("bucket key %q", k)
		}
		highest = max(highest, b)
	}
	return len(keys), highest
}

func TestNewSyncSpreadsUsersOverMoreBuckets(t *testing.T) {
	rdb := client(t)
	s := newStore(t, rdb, "firstName")
	if got := rdb.Get(context.Background(), bucketsKey).Val(); got != strconv.Itoa(state.NewBucketBits) {
		t.Fatalf("recorded bucket bits %q, want %d", got, state.NewBucketBits)
	}
	ids := saveUsers(t, s, 20_000)
	n, highest := recordBuckets(t, rdb)
	if n <= 1<<state.LegacyBucketBits || highest < 1<<state.LegacyBucketBits || highest >= 1<<state.NewBucketBits {
		t.Errorf("20,000 users in %d bucket hashes up to number %d, want more than %d, all below %d", n, highest, 1<<state.LegacyBucketBits, 1<<state.NewBucketBits)
	}
	if got := found(t, newStore(t, rdb, "firstName"), ids); got != len(ids) {
		t.Errorf("another process found %d of %d users", got, len(ids))
	}
}

// TestLegacySyncKeepsItsBuckets upgrades syncs written before the bucket
// count was stored: one with records, one only primed. Each keeps its
// layout, and every user's state is found.
func TestLegacySyncKeepsItsBuckets(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	legacy, err := state.NewWithBuckets(ctx, rdb, "attrsync", "test", []string{"firstName"}, state.LegacyBucketBits)
	if err != nil {
		t.Fatal(err)
	}
	ids := saveUsers(t, legacy, 3000)
	rdb.Del(ctx, bucketsKey) // earlier versions recorded none
	if n, highest := recordBuckets(t, rdb); highest >= 1<<state.LegacyBucketBits {
		t.Fatalf("the legacy writer used bucket %d of %d", highest, n)
	}

	// The layouts differ: read with the new one, most users are not found.
	if got, _ := state.NewWithBuckets(ctx, rdb, "attrsync", "test", []string{"firstName"}, state.NewBucketBits); found(t, got, ids) > len(ids)/2 {
		t.Fatal("the new layout finds the legacy records; this test shows nothing")
	}
	rdb.Del(ctx, bucketsKey)

	s := newStore(t, rdb, "firstName")
	if got := rdb.Get(ctx, bucketsKey).Val(); got != strconv.Itoa(state.LegacyBucketBits) {
		t.Errorf("recorded bucket bits %q for a legacy sync, want %d", got, state.LegacyBucketBits)
	}
	if got := found(t, s, ids); got != len(ids) {
		t.Errorf("after the upgrade %d of %d users have their state", got, len(ids))
	}
	// A user's unchanged value is still unchanged.
	recs, _ := s.Load(ctx, ids[7:8])
	if ch := s.Changed(recs[0], []change.Attr{attr("firstName", "7")}); len(ch) != 0 {
		t.Errorf("an unchanged value reads as changed after the upgrade: %v", ch)
	}

	// A sync that was only primed (the existence set) is legacy too.
	primed, err := state.NewWithBuckets(ctx, rdb, "attrsync", "primed", nil, state.LegacyBucketBits)
	if err != nil {
		t.Fatal(err)
	}
	if err := primed.MarkExisting(ctx, ids); err != nil {
		t.Fatal(err)
	}
	rdb.Del(ctx, "attrsync:primed:buckets")
	set, err := state.NewExistence(ctx, rdb, "attrsync", "primed")
	if err != nil {
		t.Fatal(err)
	}
	exist, err := set.Exists(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, ok := range exist {
		if !ok {
			t.Fatalf("primed user %d not found after the upgrade", i)
		}
	}
}

func TestUnknownBucketCountRefused(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	rdb.Set(ctx, bucketsKey, "20", 0)
	_, err := state.New(ctx, rdb, "attrsync", "test", []string{"firstName"})
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("New on state laid out in 2^20 buckets: %v, want a refusal naming a newer version", err)
	}
	if _, err := state.NewExistence(ctx, rdb, "attrsync", "test"); err == nil {
		t.Error("NewExistence took state laid out in 2^20 buckets")
	}
}

// TestBucketCountRecordedAgain: a running process records its bucket count
// again when it writes after the count was lost (a reset, Redis restarted
// empty), so a process starting afterwards finds its users instead of
// taking the sync for a legacy one.
func TestBucketCountRecordedAgain(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	s := newStore(t, rdb, "firstName")
	if _, err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if n := rdb.Exists(ctx, bucketsKey).Val(); n != 0 {
		t.Fatal("reset left the bucket count")
	}
	ids := saveUsers(t, s, 2000)
	if got := found(t, newStore(t, rdb, "firstName"), ids); got != len(ids) {
		t.Errorf("a process started after the reset found %d of %d users", got, len(ids))
	}
}
