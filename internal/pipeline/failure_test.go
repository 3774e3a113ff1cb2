package pipeline

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/iterable"
)

// A refused key pauses consumption; a probe finds the key accepted again
// by itself, also when the session that met the refusal is gone and no
// request is left to retry (a rebalance, a restart of the group).
func TestAuthPauseLiftsByItself(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{RetryMax: 5 * time.Second})
		var keyOK atomic.Bool
		r.api.keyOK = keyOK.Load
		ctx, stop := context.WithCancel(t.Context())
		s := r.p.Start(ctx, nil, r.fin)
		r.feed(ctx, s, users(3, 1))
		time.Sleep(2 * time.Second)
		if ok, _ := r.p.Ready(); ok {
			t.Fatal("ready while Iterable refuses the key")
		}
		stop() // the generation ends; its request is abandoned
		dctx, cancel := context.WithTimeout(t.Context(), time.Second)
		s.Drain(dctx)
		cancel()

		// A new generation: its first message waits for the key.
		ctx, stop = context.WithCancel(t.Context())
		s = r.p.Start(ctx, nil, r.fin)
		taken := make(chan bool)
		go func() { taken <- s.Handle(ctx, msg(0, 0, "user0000", 1)) }()
		synctest.Wait()
		select {
		case <-taken:
			t.Fatal("a message was taken while the key is refused")
		default:
		}
		keyOK.Store(true)
		restored := time.Now()
		<-taken
		if d := time.Since(restored); d > 5*time.Second {
			t.Errorf("resumed %s after the key was restored, more than one probe interval (5s)", d)
		}
		if ok, _ := r.p.Ready(); !ok {
			t.Error("not ready once the key is accepted again")
		}
		r.waitFinished([]change.Message{msg(0, 0, "user0000", 1)})
		stop()
		s.Drain(t.Context())
	})
}

// A request of another process (a replay, an evicted member) is out for a
// user: messages older than it are stale, and newer ones wait until its
// intent is settled or its lease ran out, then go with every attribute.
func TestUserWaitsForAnotherProcessesRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lease := 30 * time.Second
		r := newRig(t, Config{IntentLease: lease})
		ann := []change.Identifier{{Kind: change.UserID, Value: "ann"}}
		recs, _ := r.store.Load(t.Context(), ann)
		other := time.Now()
		if _, err := r.store.Intend(t.Context(), ann, recs, []change.Position{{Topic: "users", Offset: 5}}, other); err != nil {
			t.Fatal(err)
		}
		older, newer := msg(0, 3, "ann", 3), msg(0, 7, "ann", 7)
		r.sync([]change.Message{older, newer})
		reqs := r.api.sentRequests()
		if len(reqs) != 1 || reqs[0].users["ann"] != 7 {
			t.Fatalf("requests %+v, want one with ann=7", reqs)
		}
		if reqs[0].at.Before(other.Add(lease)) {
			t.Errorf("sent %s after the other request's intent, before its %s lease ran out", reqs[0].at.Sub(other), lease)
		}
		if st := r.p.Stats(); st.Stale != 1 || st.Accepted != 1 {
			t.Errorf("stale %d accepted %d, want the older message stale and the newer accepted", st.Stale, st.Accepted)
		}
	})
}

// The pacer's own failures (its Redis is down) are not Iterable's: they
// neither count against retry.max_elapsed nor dead-letter anyone.
func TestPacerOutageDeadLettersNobody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{RetryMaxElapsed: time.Second})
		down := time.Now().Add(20 * time.Second)
		r.p.Pacer = failingPacer{until: down, Pacer: r.pacer}
		msgs := users(50, 1)
		r.sync(msgs)
		if st := r.p.Stats(); st.DeadLettered != 0 || st.Accepted != 50 {
			t.Errorf("dead-lettered %d, accepted %d of 50 after a 20s pacer outage", st.DeadLettered, st.Accepted)
		}
		if first := r.api.sentRequests()[0].at; first.Before(down) {
			t.Errorf("a request left during the pacer outage")
		}
	})
}

type failingPacer struct {
	Pacer
	until time.Time
}

func (p failingPacer) Wait(ctx context.Context) (time.Duration, error) {
	if time.Now().Before(p.until) {
		return 0, errors.New("ratelimit: global allow: dial tcp: connection refused")
	}
	return p.Pacer.Wait(ctx)
}

// Fields Iterable answers as filteredOutFields were not stored: they are
// not recorded as accepted, so they go again with the user's next change,
// and they are counted.
func TestFilteredOutFieldsAreNotRecorded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{})
		r.api.answer = func(req iterable.BulkRequest) (iterable.BulkResult, error) {
			return iterable.BulkResult{SuccessCount: len(req.Users), FilteredOutFields: []string{"v"}}, nil
		}
		r.sync([]change.Message{msg(0, 0, "ann", 1)})
		r.sync([]change.Message{msg(0, 1, "ann", 1)}) // the same value again
		if n := len(r.api.sentRequests()); n != 2 {
			t.Errorf("%d requests: a value Iterable filtered out was recorded as accepted", n)
		}
		if st := r.p.Stats(); st.FieldsFilteredOut != 2 {
			t.Errorf("%d fields counted as filtered out, want 2", st.FieldsFilteredOut)
		}
	})
}

// A whole request refused with 400 BadParams is narrowed down, through
// bulkUpdate, to the user at fault; the others are accepted.
func TestBadParamsIsNarrowedToTheUserAtFault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxUsers: 50})
		r.api.answer = func(req iterable.BulkRequest) (iterable.BulkResult, error) {
			for _, u := range req.Users {
				if u.ID.Value == "user0013" {
					return iterable.BulkResult{}, &iterable.APIError{Status: 400, Code: "BadParams", Endpoint: iterable.EndpointBulkUpdate}
				}
			}
			return iterable.BulkResult{SuccessCount: len(req.Users)}, nil
		}
		msgs := users(40, 1)
		r.sync(msgs)
		dead := r.dlq.records()
		if len(dead) != 1 {
			t.Fatalf("%d dead letters, want 1", len(dead))
		}
		if f, _ := dlq.Failure(dead[0]); string(dead[0].Key) != "user0013" || f.Class != change.ClassRejected || f.HTTPStatus != 400 {
			t.Errorf("dead letter %s: %+v", dead[0].Key, f)
		}
		if st := r.p.Stats(); st.Accepted != 39 {
			t.Errorf("accepted %d, want the 39 others", st.Accepted)
		}
	})
}

// Once a session stops, no new request is cut; a request already out gets
// the drain to finish, and is settled.
func TestNoRequestIsCutAfterTheSessionStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{MaxUsers: 10, MaxInFlight: 1})
		r.api.latency = 2 * time.Second
		ctx, stop := context.WithCancel(t.Context())
		s := r.p.Start(ctx, nil, r.fin)
		msgs := users(30, 1)
		r.feed(ctx, s, msgs)
		time.Sleep(500 * time.Millisecond) // the first request is out
		stop()
		stopped := time.Now()
		dctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		s.Drain(dctx)
		cancel()
		reqs := r.api.sentRequests()
		for _, req := range reqs {
			if req.at.After(stopped) {
				t.Errorf("a request was cut %s after the session stopped", req.at.Sub(stopped))
			}
		}
		if st := r.p.Stats(); st.Accepted != int64(len(reqs[0].users)) || len(reqs) != 1 {
			t.Errorf("%d requests, %d accepted: want the one out to be settled, nothing more", len(reqs), st.Accepted)
		}
	})
}

// A TLS peer Iterable's client cannot trust (a proxy intercepting TLS, an
// outdated CA bundle) pauses the sync like a refused key: nothing is
// dead-lettered, and it resumes once the probe gets through.
func TestUntrustedTLSPausesInsteadOfDeadLettering(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{RetryMax: 2 * time.Second, RetryMaxElapsed: time.Second})
		var trusted atomic.Bool
		tlsErr := &iterable.TLSError{Endpoint: iterable.EndpointBulkUpdate, Problem: "certificate signed by unknown authority", Err: errors.New("x509: unknown authority")}
		r.api.answer = func(req iterable.BulkRequest) (iterable.BulkResult, error) {
			if !trusted.Load() {
				return iterable.BulkResult{}, tlsErr
			}
			return iterable.BulkResult{SuccessCount: len(req.Users)}, nil
		}
		r.api.keyOK = trusted.Load // the probe meets the same untrusted peer
		msgs := users(5, 1)
		ctx, stop := context.WithCancel(t.Context())
		s := r.p.Start(ctx, nil, r.fin)
		r.feed(ctx, s, msgs)
		time.Sleep(30 * time.Second) // far beyond retry.max_elapsed
		if ok, _ := r.p.Ready(); ok {
			t.Error("ready while Iterable's TLS peer is untrusted")
		}
		if n := len(r.dlq.records()); n != 0 {
			t.Fatalf("%d messages dead-lettered for a TLS failure", n)
		}
		trusted.Store(true)
		r.waitFinished(msgs)
		stop()
		s.Drain(t.Context())
		if st := r.p.Stats(); st.Accepted != 5 || st.DeadLettered != 0 {
			t.Errorf("accepted %d, dead-lettered %d once TLS was trusted again", st.Accepted, st.DeadLettered)
		}
	})
}
