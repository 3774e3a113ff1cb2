package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/sim"
)

const simKey = "sim-key-for-ratelimit-tests"

// memTransport hands requests to a handler in memory, so that a test in a
// synctest bubble runs client, limiter and simulator on the bubble's clock.
type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	m.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// sender drives bulkUpdate requests through lim the way the pipeline does
// (internal/pipeline, takeTurn and report): a few request slots, each
// taking a turn from lim, preparing the request (prep of the turn's number
// from 0; nil: no time), sending, and telling lim how Iterable's rate limit
// took the request. The client itself does not pace bulkUpdate.
type sender struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startSender(c *iterable.Client, lim *Adaptive, slots int, prep func(turn int64) time.Duration) *sender {
	ctx, cancel := context.WithCancel(context.Background())
	s := &sender{cancel: cancel}
	var turns atomic.Int64
	req := iterable.BulkRequest{Users: []iterable.User{{
		ID:     change.Identifier{Kind: change.Email, Value: "a@example.com"},
		Fields: []change.Attr{{Name: "n", JSON: []byte("1")}},
	}}}
	for range slots {
		s.wg.Go(func() {
			for ctx.Err() == nil {
				if _, err := lim.Wait(ctx); err != nil {
					return // cancelled; a limiter failing otherwise shows as missing requests
				}
				if n := turns.Add(1) - 1; prep != nil {
					time.Sleep(prep(n))
				}
				_, err := c.BulkUpdate(ctx, req)
				report(ctx, lim, err)
			}
		})
	}
	return s
}

// report is the pipeline's report: a 429 throttles lim (a second's pause
// when Iterable named none), any other answer below 500 got through the
// rate limit.
func report(ctx context.Context, lim *Adaptive, err error) {
	if b, ok := iterable.IsRateLimited(err); ok {
		wait := b.Wait
		if wait <= 0 {
			wait = iterable.DefaultPenalty
		}
		_ = lim.Throttled(ctx, wait, b.Limit)
		return
	}
	if err == nil {
		_ = lim.Succeeded(ctx)
		return
	}
	if e, ok := errors.AsType[*iterable.APIError](err); ok && e.Status < 500 {
		_ = lim.Succeeded(ctx)
	}
}

func (s *sender) stop() { s.cancel(); s.wg.Wait() }

// window counts what the simulator recorded for bulkUpdate in [from, to).
type window struct{ accepted, refused int }

func count(reqs []sim.Request, from, to time.Time) window {
	var w window
	for _, r := range reqs {
		if r.Endpoint != sim.EndpointBulkUpdate || r.Time.Before(from) || !r.Time.Before(to) {
			continue
		}
		switch r.Status {
		case http.StatusOK:
			w.accepted++
		case http.StatusTooManyRequests:
			w.refused++
		}
	}
	return w
}

// TestAdaptiveSharesTheQuota runs the scenario of issue 13 on the bubble's
// clock: attrsync alone at Iterable's 5 bulkUpdate requests per second;
// then another client takes 2 of them, and attrsync must settle near the 3
// left, with 429s only while it adjusts (and on its rare probes); then the
// other client stops, and attrsync must return to 5.
func TestAdaptiveSharesTheQuota(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sim.New(sim.Options{APIKey: simKey, BulkUpdatePerSecond: sim.DefaultBulkUpdatePerSecond, LookupPerSecond: -1})
		lim := NewAdaptiveLocal(AIMD{Max: 5})
		c := iterable.New("http://sim.invalid", simKey, iterable.WithHTTPClient(&http.Client{Transport: memTransport{s}}))
		start := time.Now()
		at := func(d time.Duration) time.Time { return start.Add(d) }
		snd := startSender(c, lim, 4, nil)

		time.Sleep(20 * time.Second)
		if err := s.TakeQuota(sim.EndpointBulkUpdate, 2); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Second)
		sharedRate := lim.Rate()
		if err := s.TakeQuota(sim.EndpointBulkUpdate, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Second)
		snd.stop()

		reqs := s.Requests()
		alone := count(reqs, at(0), at(20*time.Second))
		adjusting := count(reqs, at(20*time.Second), at(100*time.Second))
		settled := count(reqs, at(100*time.Second), at(220*time.Second))
		back := count(reqs, at(220*time.Second), at(370*time.Second))
		backLast := count(reqs, at(310*time.Second), at(370*time.Second))
		t.Logf("alone: %+v; shared, adjusting (80 s): %+v; shared, settled (120 s): %+v = %.2f/s, limiter at %.2f/s; alone again (150 s): %+v, last 60 s %.2f/s, limiter at %.2f/s",
			alone, adjusting, settled, float64(settled.accepted)/120, sharedRate, back, float64(backLast.accepted)/60, lim.Rate())

		if alone.refused != 0 || alone.accepted < 95 {
			t.Errorf("alone at 5/s: %+v, want about 100 accepted and no 429", alone)
		}
		if adjusting.refused == 0 {
			t.Error("no 429 when the other client started: the test proves nothing")
		}
		if r := float64(settled.accepted) / 120; r < 2.6 || r > 3.05 {
			t.Errorf("settled at %.2f/s beside a client taking 2 of 5/s, want near 3", r)
		}
		if settled.refused > 3 {
			t.Errorf("%d × 429 in 120 s after settling, want at most a few probes", settled.refused)
		}
		if backLast.refused != 0 || float64(backLast.accepted)/60 < 4.8 || lim.Rate() != 5 {
			t.Errorf("after the other client stopped: last 60 s %+v, limiter at %.2f/s; want 5/s and no 429", backLast, lim.Rate())
		}
	})
}
