package pipeline

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/iterable"
)

// Every message ends: accepted, unchanged, stale, skipped, absent, or
// dead-lettered with a class. Calls to Iterable and to the dead-letter
// topic fail at random (transient, permanent, refused key, wrong types,
// rejected users, failed lookups); whatever happens, each message is
// finished exactly once, and one that is not accepted has a dead letter
// saying why, or was absent.
func TestEveryMessageFinishes(t *testing.T) {
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { everyMessageFinishes(t, seed) })
		})
	}
}

func everyMessageFinishes(t *testing.T, seed uint64) {
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(seed, 99))
	roll := func() float64 { mu.Lock(); defer mu.Unlock(); return rng.Float64() }
	r := newRig(t, Config{MaxUsers: 20, UpdateMode: seed%2 == 1, RetryMaxElapsed: 3 * time.Second})
	keyRefusedUntil := time.Now().Add(2 * time.Second)
	r.api.keyOK = func() bool { return time.Now().After(keyRefusedUntil) }
	r.api.answer = func(req iterable.BulkRequest) (iterable.BulkResult, error) {
		switch x := roll(); {
		case x < 0.15:
			return iterable.BulkResult{}, &iterable.APIError{Status: 503, Endpoint: iterable.EndpointBulkUpdate}
		case x < 0.2:
			return iterable.BulkResult{}, &iterable.APIError{Status: 400, Code: "BadParams", Endpoint: iterable.EndpointBulkUpdate}
		case x < 0.25:
			return iterable.BulkResult{}, typeMismatch("v", 7)
		case x < 0.3:
			return iterable.BulkResult{}, &iterable.APIError{Status: 404, Code: "NotFound", Endpoint: iterable.EndpointBulkUpdate}
		case x < 0.5:
			return rejectUsers(req.Users[0].ID.Value)(req)
		}
		return iterable.BulkResult{SuccessCount: len(req.Users)}, nil
	}
	r.api.exists = func(change.Identifier) (bool, error) {
		switch x := roll(); {
		case x < 0.1:
			return false, &iterable.APIError{Status: 400, Code: "BadParams", Endpoint: iterable.EndpointGetByEmail}
		case x < 0.2:
			return false, &iterable.APIError{Status: 500, Endpoint: iterable.EndpointGetByEmail}
		case x < 0.3:
			return false, fmt.Errorf("iterable: %s: HTTP 200 with an undecodable body: %w", iterable.EndpointGetByEmail, errors.New("unexpected EOF"))
		case x < 0.4:
			return false, nil
		}
		return true, nil
	}
	r.dlq.fail = func() bool { return roll() < 0.2 }

	var msgs []change.Message
	for i := range 300 {
		v := i / 60
		switch i % 37 {
		case 3:
			msgs = append(msgs, change.Message{Pos: change.Position{Topic: "users", Partition: i % 3, Offset: int64(i)}, Key: []byte("x"), Value: []byte("bad")})
			continue
		case 5:
			msgs = append(msgs, change.Message{Pos: change.Position{Topic: "users", Partition: i % 3, Offset: int64(i)}, Key: []byte("x"), Value: []byte("unconvertible")})
			continue
		}
		msgs = append(msgs, msg(i%3, int64(i), fmt.Sprintf("u%02d", i%50), v))
	}
	r.sync(msgs)
	r.checkFinishedOnce(msgs)

	st := r.p.Stats()
	if st.Finished() != int64(len(msgs)) || st.Consumed != int64(len(msgs)) {
		t.Errorf("consumed %d, finished %d of %d messages", st.Consumed, st.Finished(), len(msgs))
	}
	dead := map[change.Position]bool{}
	for _, d := range r.dlq.records() {
		f, ok := dlq.Failure(d)
		if !ok || f.Class == "" {
			t.Errorf("a dead letter without a failure class: %v", d.Headers)
		}
		pos := dlq.OriginalPosition(d)
		if dead[pos] {
			t.Errorf("%v dead-lettered twice", pos)
		}
		dead[pos] = true
	}
	if int64(len(dead)) != st.DeadLettered {
		t.Errorf("%d distinct dead letters, %d counted", len(dead), st.DeadLettered)
	}
}
