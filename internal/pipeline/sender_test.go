package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"testing/synctest"
	"time"
	"weak"

	"github.com/attrsync/attrsync/internal/change"
)

// users returns one message per user, user0000 to user(n-1), spread over
// four partitions.
func users(n, v int) []change.Message {
	out := make([]change.Message, n)
	for i := range out {
		out[i] = msg(i%4, int64(i/4), fmt.Sprintf("user%04d", i), v)
	}
	return out
}

// A backlog leaves as full requests: each is cut when its turn comes, from
// whatever is queued by then, so no request goes out part-full while more
// users wait.
func TestBacklogLeavesAsFullRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxUsers: 100})
		msgs := users(1000, 1)
		r.sync(msgs)
		reqs := r.api.sentRequests()
		if len(reqs) != 10 {
			t.Errorf("%d requests for 1000 users at 100 per request, want 10", len(reqs))
		}
		for i, req := range reqs {
			if len(req.users) != 100 {
				t.Errorf("request %d carried %d users, want 100", i, len(req.users))
			}
		}
		for i := range 1000 {
			if v, ok := r.api.profile(fmt.Sprintf("user%04d", i)); !ok || v != 1 {
				t.Fatalf("user%04d: Iterable has %v %v", i, v, ok)
			}
		}
		r.checkFinishedOnce(msgs)
	})
}

// A lone change leaves within max_wait plus one turn.
func TestLoneChangeLeavesWithinMaxWaitAndATurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxWait: 300 * time.Millisecond})
		r.sync(users(1, 1)) // takes the first turn
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		r.sync([]change.Message{msg(0, 1, "user0000", 2)})
		reqs := r.api.sentRequests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		if d := reqs[1].at.Sub(start); d > 300*time.Millisecond+r.pacer.interval {
			t.Errorf("a lone change left after %s, more than max_wait 300ms plus one 200ms turn", d)
		}
	})
}

// A user is in at most one request at a time, even with Iterable slow and
// its changes arriving while a request for it is out; its last value wins.
func TestOneRequestPerUserAtATime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxUsers: 10, MaxInFlight: 8})
		r.api.latency = 700 * time.Millisecond
		var msgs []change.Message
		for v := range 30 {
			for u := range 3 {
				msgs = append(msgs, msg(u, int64(v), fmt.Sprintf("u%d", u), v))
			}
		}
		r.sync(msgs)
		if r.api.overlap != 0 {
			t.Errorf("%d requests carried a user already out in another request", r.api.overlap)
		}
		for u := range 3 {
			if v, _ := r.api.profile(fmt.Sprintf("u%d", u)); v != 29 {
				t.Errorf("u%d ends with v=%d, want 29", u, v)
			}
		}
		r.checkFinishedOnce(msgs)
	})
}

// Changes coalesce per user within a request: later values win, and the
// user's state reflects the newest message.
func TestChangesCoalescePerUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxWait: time.Second})
		msgs := []change.Message{msg(0, 0, "ann", 1), msg(0, 1, "ann", 2), msg(0, 2, "ann", 3)}
		r.sync(msgs)
		reqs := r.api.sentRequests()
		if len(reqs) != 1 || reqs[0].users["ann"] != 3 {
			t.Fatalf("requests %v, want one with ann=3", reqs)
		}
		recs, _ := r.store.Load(t.Context(), []change.Identifier{{Kind: change.UserID, Value: "ann"}})
		if !recs[0].Stale(msgs[2].Pos) || recs[0].Stale(change.Position{Topic: "users", Offset: 3}) {
			t.Errorf("state does not reflect offset 2: %+v", recs[0])
		}
		// The same values again are unchanged: nothing is sent.
		r.sync([]change.Message{msg(0, 3, "ann", 3)})
		if n := len(r.api.sentRequests()); n != 1 {
			t.Errorf("an unchanged value sent a request (%d requests)", n)
		}
	})
}

// Turns that come rarely (other instances share the budget) while users
// trickle in: requests still leave full, because each is cut when its turn
// comes, not when a slot frees and the engine has handed over a few users.
func TestRareTurnsStillGetFullRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxUsers: 100, MaxWait: 100 * time.Millisecond})
		r.pacer.interval = time.Second
		msgs := users(1000, 1)
		ctx, stop := context.WithCancel(t.Context())
		s := r.p.Start(ctx, nil, r.fin)
		for i := 0; i < len(msgs); i += 50 {
			r.feed(ctx, s, msgs[i:i+50])
			time.Sleep(100 * time.Millisecond)
		}
		r.waitFinished(msgs)
		stop()
		s.Drain(t.Context())
		// The first turn is granted at once, to the 50 users there are; the
		// last takes what is left.
		reqs := r.api.sentRequests()
		for i, req := range reqs[1 : len(reqs)-1] {
			if len(req.users) != 100 {
				t.Errorf("request %d of %d carried %d users, want 100", i+1, len(reqs), len(req.users))
			}
		}
		if len(reqs) > 12 {
			t.Errorf("%d requests for 1000 users, want at most 12", len(reqs))
		}
		r.checkFinishedOnce(msgs)
	})
}

// Messages whose users Iterable accepted are let go while the rest of the
// backlog waits for its turns: the held-message budget stops counting a
// message once it is finished, so anything that kept it would be memory
// beyond the budget.
func TestSentMessagesAreReleased(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n, perRequest = 1000, 100
		r := newRig(t, Config{MaxUsers: perRequest})
		msgs := users(n, 1)
		values := make([]weak.Pointer[byte], n)
		positions := make([]change.Position, n)
		for i := range msgs {
			// A value of its own, large enough not to share its memory
			// with another's.
			msgs[i].Value = append(make([]byte, 0, 1024), msgs[i].Value...)
			values[i] = weak.Make(&msgs[i].Value[0])
			positions[i] = msgs[i].Pos
		}
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		s := r.p.Start(ctx, nil, r.fin)
		r.feed(ctx, s, msgs)
		msgs = nil // the test keeps only weak pointers to the values

		for r.fin.count() < n/2 {
			time.Sleep(10 * time.Millisecond)
		}
		synctest.Wait() // the requests sent are through, the rest wait for turns
		runtime.GC()
		kept, finished := 0, 0
		for i, pos := range positions {
			if r.fin.finished(pos) {
				finished++
				if values[i].Value() != nil {
					kept++
				}
			}
		}
		if finished == n {
			t.Fatal("the whole backlog was sent before the check; nothing was left waiting")
		}
		if kept > 0 {
			t.Errorf("%d of %d finished messages still in memory while %d wait", kept, finished, n-finished)
		}
		stop()
		s.Drain(t.Context())
	})
}
