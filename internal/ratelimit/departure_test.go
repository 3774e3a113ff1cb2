package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// slowOddTurns is a preparation (intents, encoding) that takes 190 ms on
// every other turn and nothing on the rest: a request that leaves 190 ms
// after its turn is followed by one that leaves at its own turn, 10 ms
// later, which Iterable's leaky bucket (150 ms of tolerance at 5/s in the
// simulator) refuses.
func slowOddTurns(turn int64) time.Duration {
	if turn%2 == 1 {
		return 190 * time.Millisecond
	}
	return 0
}

// TestDeparturesKeepUnevenRequestsApart sends at Iterable's 5 bulkUpdate
// requests per second with uneven preparation between turn and wire: with
// the departure gate there is no 429 and the pace is kept; without it the
// same sender meets 429s (so the test can tell the two apart).
func TestDeparturesKeepUnevenRequestsApart(t *testing.T) {
	for _, gate := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			s := sim.New(sim.Options{APIKey: simKey, LookupPerSecond: -1})
			lim := NewAdaptiveLocal(AIMD{Max: 5})
			opts := []iterable.Option{iterable.WithHTTPClient(&http.Client{Transport: memTransport{s}})}
			if gate {
				opts = append(opts, iterable.WithBulkUpdateDepartures(lim.Departures()))
			}
			c := iterable.New("http://sim.invalid", simKey, opts...)
			start := time.Now()
			snd := startSender(c, lim, 3, slowOddTurns)
			time.Sleep(20 * time.Second)
			snd.stop()
			w := count(s.Requests(), start, start.Add(20*time.Second))
			t.Logf("departure gate %t: %+v in 20 s", gate, w)
			switch {
			case !gate && w.refused == 0:
				t.Error("no 429 without the departure gate: the test proves nothing")
			case gate && (w.refused != 0 || w.accepted < 98):
				t.Errorf("with the departure gate: %+v in 20 s at 5/s, want 98 or more accepted and no 429", w)
			}
		})
	}
}

// TestDeparturesSharedAcrossInstances is the uneven preparation across two
// instances sharing one state in Redis (scope global), in real time over
// HTTP: one instance's requests leave 190 ms after their turns, the
// other's at once, so whenever a quick turn follows a slow one the two
// requests arrive together unless the departures are booked in the shared
// state.
func TestDeparturesSharedAcrossInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 6 s")
	}
	t.Parallel()
	r := testenv.StartRedis(t)
	for _, gate := range []bool{false, true} {
		t.Run(map[bool]string{false: "without", true: "with"}[gate], func(t *testing.T) {
			t.Parallel()
			s := sim.New(sim.Options{APIKey: simKey, LookupPerSecond: -1})
			srv := httptest.NewServer(s)
			defer srv.Close()
			key := "test:depart:" + t.Name()
			start := time.Now()
			var senders []*sender
			for i := range 2 {
				lim := NewAdaptiveGlobal(newRedisClient(t, r.Addr), key, AIMD{Max: 5})
				var opts []iterable.Option
				if gate {
					opts = append(opts, iterable.WithBulkUpdateDepartures(lim.Departures()))
				}
				prep := func(int64) time.Duration { return time.Duration(i) * 190 * time.Millisecond }
				senders = append(senders, startSender(iterable.New(srv.URL, simKey, opts...), lim, 2, prep))
			}
			time.Sleep(6 * time.Second)
			for _, snd := range senders {
				snd.stop()
			}
			w := count(s.Requests(), start, start.Add(6*time.Second))
			t.Logf("departure gate %t: %+v in 6 s", gate, w)
			switch {
			case !gate && w.refused == 0:
				t.Error("no 429 without the departure gate: the test proves nothing")
			case gate && (w.refused != 0 || w.accepted < 27):
				t.Errorf("with the departure gate: %+v in 6 s at 5/s, want 27 or more accepted and no 429", w)
			}
		})
	}
}

// TestDepartScript checks the booking itself on a fixed clock: the first
// departure leaves at once, each next one an interval after the last one
// booked by any instance, and none before a pause a 429 asked for.
func TestDepartScript(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	const t0 = 1_700_000_000_000.0
	now := t0
	p := AIMD{Max: 5}.withDefaults()
	backend := func() *globalBackend {
		return &globalBackend{rdb: newRedisClient(t, r.Addr), key: "test:depart:script", p: p,
			depart: redis.NewScript(departScript), feedback: redis.NewScript(feedbackScript),
			now: func() float64 { return now }}
	}
	a, b := backend(), backend()
	book := func(g *globalBackend, at float64) time.Duration {
		t.Helper()
		now = at
		w, err := g.book(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	ms := time.Millisecond
	steps := []struct {
		g    *globalBackend
		at   float64
		want time.Duration
	}{
		{a, t0, 0},               // first: at once
		{b, t0 + 10, 190 * ms},   // 200 ms after a's
		{a, t0 + 50, 350 * ms},   // after b's booking, not a's
		{b, t0 + 1000, 0},        // long after: at once
		{a, t0 + 1300, 0},        // 300 ms after: at once
		{b, t0 + 1400, 100 * ms}, // 200 ms after a's
		{a, t0 + 5000, 0},
	}
	for i, st := range steps {
		if got := book(st.g, st.at); got != st.want {
			t.Errorf("step %d (at +%.0f ms): wait %v, want %v", i, st.at-t0, got, st.want)
		}
	}
	// A 429 pauses everyone for a second: no departure is booked before.
	now = t0 + 6000
	if _, err := a.report(t.Context(), "t", time.Second, 0); err != nil {
		t.Fatal(err)
	}
	// The 429 also lowered the pace to 3.5/s (Decrease 0.7): the next
	// departure after the pause is 1000/3.5 ms after it.
	if got, want := book(b, t0+6100), 900*ms; got != want {
		t.Errorf("during a pause: wait %v, want %v (its end)", got, want)
	}
	got, want := book(a, t0+6100), 900*ms+time.Duration(1000/3.5*float64(ms))
	if d := got - want; d < 0 || d > ms {
		t.Errorf("after the pause's departure: wait %v, want %v", got, want)
	}
}
