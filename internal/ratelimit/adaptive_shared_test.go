package ratelimit

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestAdaptiveGlobalSharesTheQuota is TestAdaptiveSharesTheQuota for two
// instances sharing one state in Redis, in real time over HTTP. To keep it
// short the limits are four times Iterable's (20/s, another client taking
// 8), the holds are seconds, not a minute, and probes climb five times as
// fast.
func TestAdaptiveGlobalSharesTheQuota(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 46 s")
	}
	t.Parallel()
	r := testenv.StartRedis(t)
	s := sim.New(sim.Options{APIKey: simKey, BulkUpdatePerSecond: 20, LookupPerSecond: -1})
	srv := httptest.NewServer(s)
	defer srv.Close()
	tune := AIMD{Max: 20, Probe: 2, HoldMin: time.Second, HoldMax: 6 * time.Second}
	var lims []*Adaptive
	var senders []*sender
	for range 2 {
		lim := NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:e2e", tune)
		lims = append(lims, lim)
		senders = append(senders, startSender(iterable.New(srv.URL, simKey), lim, 2, nil))
	}
	start := time.Now()
	at := func(d time.Duration) time.Time { return start.Add(d) }

	time.Sleep(2 * time.Second)
	if err := s.TakeQuota(sim.EndpointBulkUpdate, 8); err != nil {
		t.Fatal(err)
	}
	time.Sleep(26 * time.Second)
	shared := []float64{lims[0].Rate(), lims[1].Rate()}
	if err := s.TakeQuota(sim.EndpointBulkUpdate, 0); err != nil {
		t.Fatal(err)
	}
	time.Sleep(18 * time.Second)
	for _, snd := range senders {
		snd.stop()
	}

	reqs := s.Requests()
	adjusting := count(reqs, at(2*time.Second), at(14*time.Second))
	settled := count(reqs, at(14*time.Second), at(28*time.Second))
	back := count(reqs, at(42*time.Second), at(46*time.Second))
	t.Logf("shared, adjusting (12 s): %+v; settled (14 s): %+v = %.1f/s, limiters at %.1f and %.1f/s; alone again, last 4 s: %+v = %.1f/s, limiters at %.1f and %.1f/s",
		adjusting, settled, float64(settled.accepted)/14, shared[0], shared[1], back, float64(back.accepted)/4, lims[0].Rate(), lims[1].Rate())

	if adjusting.refused == 0 {
		t.Error("no 429 when the other client started: the test proves nothing")
	}
	// Real time on a loaded machine, and every probe that fails costs a
	// second's pause: the bounds are looser than in the synctest version.
	if r := float64(settled.accepted) / 14; r < 7.2 || r > 12.5 {
		t.Errorf("two instances settled at %.1f/s together beside a client taking 8 of 20/s, want near 12", r)
	}
	if settled.refused > 4 || settled.refused*10 > settled.accepted {
		t.Errorf("%d × 429 in the 14 s after settling (%d while adjusting), want only failed probes", settled.refused, adjusting.refused)
	}
	// That the instances share one pace is TestAdaptiveGlobalIsShared's
	// to show; here each holds the pace as it last read it.
	if r := float64(back.accepted) / 4; r < 17 || back.refused != 0 || lims[0].Rate() != 20 || lims[1].Rate() != 20 {
		t.Errorf("after the other client stopped: %.1f/s, %d × 429, limiters at %.1f and %.1f/s; want back at 20/s",
			r, back.refused, lims[0].Rate(), lims[1].Rate())
	}
}
