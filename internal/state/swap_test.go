package state_test

import (
	"context"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// Two processes working on one user: whoever writes second, from what it
// read before the first one wrote, writes nothing and learns what is there.
// A position therefore never moves backwards.
func TestWritesAreCompareAndSet(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	live, replay := newStore(t, rdb, "firstName"), newStore(t, rdb, "firstName")
	u := []change.Identifier{{Kind: change.Email, Value: "ann@example.com"}}
	at := func(off int64) []change.Position {
		return []change.Position{{Topic: "users", Partition: 2, Offset: off}}
	}
	now := time.Now()

	liveRecs, _ := live.Load(ctx, u)
	replayRecs, _ := replay.Load(ctx, u)
	sw, err := live.Intend(ctx, u, liveRecs, at(10), now)
	if err != nil || !sw[0].Done {
		t.Fatalf("first intent: %v, %v", sw, err)
	}
	liveIntent := sw[0].Rec
	sw, err = replay.Intend(ctx, u, replayRecs, at(5), now)
	if err != nil || sw[0].Done {
		t.Fatalf("second intent from a stale read was written: %v, %v", sw, err)
	}
	if other := sw[0].Rec; !other.Uncertain() || !other.IntentLive(now, time.Minute) || !other.BeforeIntent(at(5)[0]) {
		t.Fatalf("the conflict does not show the other intent: %+v", other)
	}
	done := live.Apply(liveIntent, []change.Attr{attr("firstName", `"New"`)}, at(10)[0], false, now)
	if sw, err := live.Save(ctx, u, []state.Record{done}); err != nil || !sw[0].Done {
		t.Fatalf("saving over one's own intent: %v, %v", sw, err)
	}
	older := replay.Apply(replayRecs[0], []change.Attr{attr("firstName", `"Old"`)}, at(5)[0], false, now)
	sw, err = replay.Save(ctx, u, []state.Record{older})
	if err != nil || sw[0].Done {
		t.Fatalf("an older position was saved over a newer one: %v, %v", sw, err)
	}
	if !sw[0].Rec.Stale(at(5)[0]) {
		t.Fatal("the conflict does not show the newer record")
	}
	recs, _ := replay.Load(ctx, u)
	if recs[0].Offset != 10 || recs[0].Uncertain() || len(replay.Changed(recs[0], []change.Attr{attr("firstName", `"New"`)})) != 0 {
		t.Fatalf("stored %+v, want offset 10 with the new value", recs[0])
	}
}

// An intent is live for its lease from when it was written or renewed.
func TestIntentLease(t *testing.T) {
	ctx := context.Background()
	s := state.NewInMemory("test", []string{"x"})
	u := []change.Identifier{{Kind: change.UserID, Value: "u1"}}
	pos := []change.Position{{Topic: "t", Offset: 1}}
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	recs, _ := s.Load(ctx, u)
	sw, err := s.Intend(ctx, u, recs, pos, t0)
	if err != nil || !sw[0].Done {
		t.Fatal(sw, err)
	}
	recs, _ = s.Load(ctx, u)
	const lease = 30 * time.Second
	if !recs[0].IntentLive(t0.Add(lease-time.Millisecond), lease) || recs[0].IntentLive(t0.Add(lease), lease) {
		t.Fatal("the lease does not run from the intent's time")
	}
	sw, err = s.Intend(ctx, u, recs, pos, t0.Add(lease))
	if err != nil || !sw[0].Done {
		t.Fatal("renewing an intent failed", sw, err)
	}
	if !sw[0].Rec.IntentLive(t0.Add(lease+time.Second), lease) {
		t.Fatal("renewing did not extend the lease")
	}
}

// A reset while a sync runs deletes the layout key; the next write puts it
// back, so other processes can still read what this one writes.
func TestLayoutIsRecordedAgainAfterAReset(t *testing.T) {
	ctx := context.Background()
	rdb := client(t)
	running := newStore(t, rdb, "a", "b")
	if _, err := running.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	u := []change.Identifier{{Kind: change.Email, Value: "x@example.com"}}
	mustSave(t, running, u, []state.Record{running.Apply(state.Record{}, []change.Attr{attr("a", `1`), attr("b", `2`)}, change.Position{Topic: "t"}, false, time.Now())})

	other := newStore(t, rdb, "b", "a", "c") // another mapping, another process
	recs, err := other.Load(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !recs[0].Found || len(other.Changed(recs[0], []change.Attr{attr("a", `1`), attr("b", `2`)})) != 0 {
		t.Fatal("a record written after a reset cannot be read by another mapping")
	}
}
