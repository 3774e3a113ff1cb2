package state_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/redis/go-redis/v9"
)

func newStore(t testing.TB, rdb redis.UniversalClient, attrs ...string) *state.Store {
	t.Helper()
	s, err := state.New(context.Background(), rdb, "attrsync", "test", attrs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// mustSave writes records that must not have been written by anyone else.
func mustSave(t testing.TB, s *state.Store, ids []change.Identifier, recs []state.Record) {
	t.Helper()
	sw, err := s.Save(context.Background(), ids, recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range sw {
		if !w.Done {
			t.Fatalf("user %d was written by someone else meanwhile", i)
		}
	}
}

func client(t testing.TB) *redis.Client {
	t.Helper()
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { rdb.Close() })
	return rdb
}

func attr(name, json string) change.Attr { return change.Attr{Name: name, JSON: []byte(json)} }

func names(attrs []change.Attr) []string {
	var out []string
	for _, a := range attrs {
		out = append(out, a.Name)
	}
	return out
}

func TestDiffAdvanceAndStale(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	s := newStore(t, rdb, "firstName", "planTier", "age")
	ann := change.Identifier{Kind: change.Email, Value: "ann@example.com"}
	pos := change.Position{Topic: "users", Partition: 3, Offset: 41}

	recs, err := s.Load(ctx, []change.Identifier{ann})
	if err != nil {
		t.Fatal(err)
	}
	if recs[0].Found {
		t.Fatal("new user found in empty state")
	}
	first := []change.Attr{attr("firstName", `"Ann"`), attr("planTier", `"pro"`)}
	if got := names(s.Changed(recs[0], first)); !slices.Equal(got, []string{"firstName", "planTier"}) {
		t.Fatalf("new user: changed %v, want all", got)
	}
	mustSave(t, s, []change.Identifier{ann}, []state.Record{s.Apply(recs[0], first, pos, false, time.Now())})

	recs, err = s.Load(ctx, []change.Identifier{ann})
	if err != nil {
		t.Fatal(err)
	}
	next := []change.Attr{attr("firstName", `"Ann"`), attr("planTier", `"team"`), attr("age", `30`)}
	if got := names(s.Changed(recs[0], next)); !slices.Equal(got, []string{"planTier", "age"}) {
		t.Fatalf("changed %v, want [planTier age]", got)
	}
	if got := s.Changed(recs[0], first); len(got) != 0 {
		t.Fatalf("unchanged values reported as changed: %v", names(got))
	}
	for _, c := range []struct {
		pos   change.Position
		stale bool
	}{
		{pos, true},
		{change.Position{Topic: "users", Partition: 3, Offset: 40}, true},
		{change.Position{Topic: "users", Partition: 3, Offset: 42}, false},
		{change.Position{Topic: "users", Partition: 4, Offset: 1}, false},
		{change.Position{Topic: "other", Partition: 3, Offset: 1}, false},
	} {
		if got := recs[0].Stale(c.pos); got != c.stale {
			t.Errorf("Stale(%v) = %v, want %v", c.pos, got, c.stale)
		}
	}
	if recs[0].Superseded(pos) || !recs[0].Superseded(change.Position{Topic: "users", Partition: 3, Offset: 40}) {
		t.Error("Superseded must hold strictly before the stored position only")
	}

	// Forgetting keeps the position (stale detection) but drops fingerprints.
	forgotten := s.Apply(recs[0], nil, change.Position{Topic: "users", Partition: 3, Offset: 50}, true, time.Now())
	mustSave(t, s, []change.Identifier{ann}, []state.Record{forgotten})
	recs, _ = s.Load(ctx, []change.Identifier{ann})
	if !recs[0].Stale(change.Position{Topic: "users", Partition: 3, Offset: 49}) {
		t.Error("forgotten user lost its position")
	}
	if got := names(s.Changed(recs[0], first)); len(got) != 2 {
		t.Errorf("forgotten user: changed %v, want all", got)
	}
}

func TestMappingChangeKeepsFingerprints(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	old := newStore(t, rdb, "firstName", "planTier", "legacy")
	bob := change.Identifier{Kind: change.UserID, Value: "u-1"}
	vals := []change.Attr{attr("firstName", `"Bob"`), attr("planTier", `"pro"`), attr("legacy", `1`)}
	rec := old.Apply(state.Record{}, vals, change.Position{Topic: "t", Offset: 1}, false, time.Now())
	mustSave(t, old, []change.Identifier{bob}, []state.Record{rec})

	// A new mapping drops "legacy", reorders, and adds "city".
	cur := newStore(t, rdb, "city", "planTier", "firstName")
	recs, err := cur.Load(ctx, []change.Identifier{bob})
	if err != nil {
		t.Fatal(err)
	}
	got := names(cur.Changed(recs[0], []change.Attr{attr("city", `"Oslo"`), attr("planTier", `"pro"`), attr("firstName", `"Bob"`)}))
	if !slices.Equal(got, []string{"city"}) {
		t.Fatalf("after mapping change: changed %v, want [city]", got)
	}
}

func TestSyncsDoNotShareState(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	a, _ := state.New(ctx, rdb, "attrsync", "sync-a", []string{"x"})
	b, _ := state.New(ctx, rdb, "attrsync", "sync-b", []string{"x"})
	u := change.Identifier{Kind: change.Email, Value: "u@example.com"}
	vals := []change.Attr{attr("x", `1`)}
	mustSave(t, a, []change.Identifier{u}, []state.Record{a.Apply(state.Record{}, vals, change.Position{Topic: "t"}, false, time.Now())})
	recs, _ := b.Load(ctx, []change.Identifier{u})
	if recs[0].Found {
		t.Fatal("sync-b sees sync-a's state")
	}
	n, err := a.Reset(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Reset = %d, %v; want 1 user", n, err)
	}
	recs, _ = a.Load(ctx, []change.Identifier{u})
	if recs[0].Found {
		t.Fatal("state survived Reset")
	}
}

// A record that cannot be read counts as no state (the user's next change
// sends everything), is reported once, and can be written over.
func TestCorruptRecordCountsAsNoState(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	var logged bytes.Buffer
	s, err := state.New(ctx, rdb, "attrsync", "test", []string{"x"}, state.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	if err != nil {
		t.Fatal(err)
	}
	u := change.Identifier{Kind: change.Email, Value: "u@example.com"}
	v := change.Identifier{Kind: change.Email, Value: "v@example.com"}
	mustSave(t, s, []change.Identifier{u, v}, []state.Record{
		s.Apply(state.Record{}, []change.Attr{attr("x", `1`)}, change.Position{}, false, time.Now()),
		s.Apply(state.Record{}, []change.Attr{attr("x", `1`)}, change.Position{}, false, time.Now()),
	})
	keys, _ := rdb.Keys(ctx, "attrsync:test:s:*").Result()
	for _, k := range keys {
		fields, _ := rdb.HKeys(ctx, k).Result()
		for _, f := range fields {
			rdb.HSet(ctx, k, f, "\x01garbage")
		}
	}
	recs, err := s.Load(ctx, []change.Identifier{u, v})
	if err != nil {
		t.Fatalf("a corrupt record failed the load: %v", err)
	}
	if recs[0].Found || recs[1].Found || len(s.Changed(recs[0], []change.Attr{attr("x", `1`)})) != 1 {
		t.Fatal("a corrupt record was taken for state")
	}
	if n := strings.Count(logged.String(), "level=WARN"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logged.String())
	}
	mustSave(t, s, []change.Identifier{u}, []state.Record{s.Apply(recs[0], []change.Attr{attr("x", `2`)}, change.Position{Offset: 5}, false, time.Now())})
	recs, _ = s.Load(ctx, []change.Identifier{u})
	if !recs[0].Found || recs[0].Offset != 5 {
		t.Fatal("a corrupt record could not be replaced")
	}
}

// TestMemoryPerUser measures the Redis memory one synced user costs with
// ten attributes; `make bench` measures it at a larger scale.
func TestMemoryPerUser(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200k users")
	}
	rdb := client(t)
	attrs := make([]string, 10)
	for i := range attrs {
		attrs[i] = fmt.Sprintf("attribute%d", i)
	}
	s := newStore(t, rdb, attrs...)
	per, fixed := memoryCost(t, rdb, 200_000, func(lo, hi int) {
		var batch []change.Identifier
		var recs []state.Record
		for i := lo; i < hi; i++ {
			batch = append(batch, change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%07d@example.com", i)})
			vals := make([]change.Attr, len(attrs))
			for j, a := range attrs {
				vals[j] = attr(a, fmt.Sprintf(`"value-%d-%d"`, i, j))
			}
			recs = append(recs, s.Apply(state.Record{}, vals, change.Position{Topic: "users", Partition: i % 12, Offset: int64(i) * 97}, false, time.Now()))
		}
		mustSave(t, s, batch, recs)
	})
	t.Logf("redis memory per user (10 attributes): %.1f bytes, and %.1f MiB for the bucket hashes themselves", per, fixed/(1<<20))
	if per > 128 {
		t.Errorf("state costs %.1f bytes per user, over the 128-byte budget", per)
	}
	if fixed > 4<<20 {
		t.Errorf("the bucket hashes cost %.1f MiB of their own, over the 4 MiB budget", fixed/(1<<20))
	}
}

// memoryCost writes users (write is given ranges of at most 1,000) and
// returns the Redis memory each costs, measured over the second half, when
// every bucket hash exists, and what the bucket hashes cost beyond their
// users: about 145 bytes each, so a sync's first users cost more.
func memoryCost(t *testing.T, rdb *redis.Client, users int, write func(lo, hi int)) (perUser, fixed float64) {
	t.Helper()
	before := usedMemory(t, rdb)
	var half int64
	for lo := 0; lo < users; lo += 1000 {
		if lo == users/2 {
			half = usedMemory(t, rdb)
		}
		write(lo, min(lo+1000, users))
	}
	after := usedMemory(t, rdb)
	perUser = float64(after-half) / float64(users-users/2)
	return perUser, float64(after-before) - perUser*float64(users)
}

func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	n, err := state.UsedMemory(context.Background(), rdb)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestIntentMarksUsersInDoubt checks what a crash between sending and
// recording leaves behind: the user is Uncertain, older messages than the
// request's newest are recognised, a never-accepted user stays not Found,
// and recording the outcome clears the doubt.
func TestIntentMarksUsersInDoubt(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	s := newStore(t, rdb, "firstName")
	old := change.Identifier{Kind: change.Email, Value: "old@example.com"}
	fresh := change.Identifier{Kind: change.Email, Value: "new@example.com"}
	at := func(off int64) change.Position { return change.Position{Topic: "users", Partition: 1, Offset: off} }
	accepted := s.Apply(state.Record{}, []change.Attr{attr("firstName", `"A"`)}, at(10), false, time.Now())
	mustSave(t, s, []change.Identifier{old}, []state.Record{accepted})
	recs, _ := s.Load(ctx, []change.Identifier{old, fresh})
	if sw, err := s.Intend(ctx, []change.Identifier{old, fresh}, recs, []change.Position{at(20), at(5)}, time.Now()); err != nil || !sw[0].Done || !sw[1].Done {
		t.Fatalf("Intend = %v, %v", sw, err)
	}
	recs, err := s.Load(ctx, []change.Identifier{old, fresh})
	if err != nil {
		t.Fatal(err)
	}
	o, f := recs[0], recs[1]
	if !o.Found || !o.Uncertain() || !o.Stale(at(10)) || !o.BeforeIntent(at(15)) || o.BeforeIntent(at(20)) {
		t.Errorf("accepted user in doubt: found=%v uncertain=%v stale(10)=%v before(15)=%v before(20)=%v",
			o.Found, o.Uncertain(), o.Stale(at(10)), o.BeforeIntent(at(15)), o.BeforeIntent(at(20)))
	}
	if len(s.Changed(o, []change.Attr{attr("firstName", `"A"`)})) != 0 {
		t.Error("fingerprints were lost by recording the intent")
	}
	if f.Found || !f.Uncertain() || !f.BeforeIntent(at(4)) || f.Stale(at(4)) {
		t.Errorf("first-time user in doubt: found=%v uncertain=%v", f.Found, f.Uncertain())
	}
	done := s.Apply(o, []change.Attr{attr("firstName", `"B"`)}, at(20), false, time.Now())
	mustSave(t, s, []change.Identifier{old}, []state.Record{done})
	recs, _ = s.Load(ctx, []change.Identifier{old})
	if recs[0].Uncertain() || !recs[0].Stale(at(20)) {
		t.Error("recording the outcome did not clear the doubt")
	}
}
