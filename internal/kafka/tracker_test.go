package kafka

import (
	"context"
	"math/rand/v2"
	"testing"
	"testing/synctest"

	"github.com/attrsync/attrsync/internal/change"
)

// The watermark passes only messages that are finished, however late the
// ones before them finish, and a commit never moves it backwards.
func TestWatermarkWithOutOfOrderCompletion(t *testing.T) {
	tr := newTracker(newBudget(0))
	tr.start("t", 0, 100)
	for off := int64(100); off < 110; off++ {
		tr.handedOut("t", 0, off, 1)
	}
	finish := func(offs ...int64) {
		for _, o := range offs {
			tr.Finish(change.Position{Topic: "t", Partition: 0, Offset: o})
		}
	}
	want := func(off int64) {
		t.Helper()
		c := tr.commitable()
		got, ok := c["t"][0]
		if off < 0 {
			if ok {
				t.Fatalf("commitable = %v, want nothing new", c)
			}
			return
		}
		if !ok || got != off {
			t.Fatalf("commitable = %v, want t/0 at %d", c, off)
		}
		tr.committed(c)
	}
	want(-1) // nothing finished: the start offset is already committed
	finish(101, 102, 105)
	want(-1)
	finish(100)
	want(103)
	finish(103, 104, 109, 108)
	want(106)
	finish(101, 100) // finishing twice changes nothing
	want(-1)
	finish(106, 107)
	want(110)
	if n := tr.outstanding(); n != 0 {
		t.Fatalf("outstanding = %d after every message finished", n)
	}
}

// Randomized: whatever the order of completion, the watermark is always the
// oldest unfinished offset.
func TestWatermarkRandomOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for round := range 50 {
		tr := newTracker(newBudget(0))
		tr.start("t", 3, 0)
		n := 1 + rng.IntN(200)
		for off := range int64(n) {
			tr.handedOut("t", 3, off, 1)
		}
		done := make([]bool, n)
		for _, i := range rng.Perm(n) {
			tr.Finish(change.Position{Topic: "t", Partition: 3, Offset: int64(i)})
			done[i] = true
			oldest := int64(n)
			for j, d := range done {
				if !d {
					oldest = int64(j)
					break
				}
			}
			if c := tr.commitable(); len(c) > 0 {
				if c["t"][3] != oldest {
					t.Fatalf("round %d: watermark %d, oldest unfinished %d", round, c["t"][3], oldest)
				}
				tr.committed(c)
			}
		}
	}
}

// Transaction markers and aborted records are never handed out; the
// watermark passes them once everything before them finished.
func TestWatermarkPassesSkippedRecords(t *testing.T) {
	tr := newTracker(newBudget(0))
	tr.start("t", 0, 0)
	tr.handedOut("t", 0, 0, 1)
	tr.skipped("t", 0, 1) // a marker behind an unfinished message
	tr.handedOut("t", 0, 2, 1)
	tr.Finish(change.Position{Topic: "t", Offset: 2})
	if c := tr.commitable(); len(c) != 0 {
		t.Fatalf("commitable %v while offset 0 is unfinished", c)
	}
	tr.Finish(change.Position{Topic: "t", Offset: 0})
	if c := tr.commitable(); c["t"][0] != 3 {
		t.Fatalf("commitable %v, want 3", c)
	}
	tr.skipped("t", 0, 3) // a marker with nothing before it
	if c := tr.commitable(); c["t"][0] != 4 {
		t.Fatalf("commitable %v after a trailing marker, want 4", c)
	}
}

// A start offset that is a placeholder (earliest/latest) is never committed.
func TestWatermarkNeverCommitsPlaceholders(t *testing.T) {
	tr := newTracker(newBudget(0))
	tr.start("t", 0, -2)
	if c := tr.commitable(); len(c) != 0 {
		t.Fatalf("commitable %v for an unread partition with a placeholder start", c)
	}
}

// Finishing releases each message's cost, so fetchers waiting on a full
// budget go on.
func TestFinishReleasesBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(10)
		tr := newTracker(b)
		tr.start("t", 0, 0)
		ctx := t.Context()
		for off := range int64(2) {
			if !b.acquire(ctx, 5) {
				t.Fatal("acquire within the budget failed")
			}
			tr.handedOut("t", 0, off, 5)
		}
		got := make(chan bool)
		go func() { got <- b.acquire(ctx, 5) }()
		synctest.Wait()
		select {
		case <-got:
			t.Fatal("acquire beyond the budget did not wait")
		default:
		}
		tr.Finish(change.Position{Topic: "t", Offset: 1})
		if !<-got {
			t.Fatal("acquire failed after a release")
		}
		if u := b.inUse(); u != 10 {
			t.Fatalf("in use = %d, want 10", u)
		}
	})
}

// A message larger than the whole budget still goes, alone; waiting ends
// with the context.
func TestBudgetOversizedAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBudget(10)
		if !b.acquire(t.Context(), 50) {
			t.Fatal("an oversized message was refused with nothing held")
		}
		ctx, cancel := context.WithCancel(t.Context())
		got := make(chan bool)
		go func() { got <- b.acquire(ctx, 1) }()
		synctest.Wait()
		cancel()
		if <-got {
			t.Fatal("acquire succeeded on a full budget after its context ended")
		}
		b.release(50)
		if !b.acquire(t.Context(), 10) {
			t.Fatal("acquire failed on an empty budget")
		}
	})
}

// A session that ends with messages unfinished gives their budget back:
// the member's next generation shares the budget and must find it free.
func TestAbandonedWorkGivesTheBudgetBack(t *testing.T) {
	b := newBudget(100)
	tr := newTracker(b)
	tr.start("t", 0, 0)
	for off := range int64(4) {
		b.acquire(t.Context(), 25)
		tr.handedOut("t", 0, off, 25)
	}
	tr.Finish(change.Position{Topic: "t", Offset: 1})
	tr.abandon()
	if u := b.inUse(); u != 0 {
		t.Fatalf("%d of the budget still taken after the session's work was abandoned", u)
	}
	tr.Finish(change.Position{Topic: "t", Offset: 2}) // late: changes nothing
	if u := b.inUse(); u != 0 {
		t.Fatalf("a late Finish gave back what was already given back: in use %d", u)
	}
	if c := tr.commitable(); len(c) != 0 {
		t.Fatalf("commitable %v after abandon: the oldest unfinished message, offset 0, was never committable", c)
	}
}
