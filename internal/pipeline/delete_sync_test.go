package pipeline_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/redis/go-redis/v9"
)

// Under on_delete: delete, deletes reach Iterable in order with the row's
// other changes: one naming only the key (Postgres's default) is resolved
// through the row index, a re-insert right after it waits until Iterable's
// asynchronous deletion is through instead of vanishing with it, and
// Debezium's tombstones delete nothing twice.
func TestDeletesInOrderWithAReinsertAfter(t *testing.T) {
	e := newEnv(t, 2, sim.Options{DeleteDelay: 2 * time.Second})
	first := []change.Message{
		testenv.Upsert(1, userRow(1, "ann@example.com", "Ann", 1)),
		testenv.Upsert(2, userRow(2, "bob@example.com", "Bob", 1)),
	}
	e.Kafka.Produce(topic, first...)
	r := e.start(e.config("g", "source: {on_delete: delete}"))
	r.WaitFinished(int64(len(first)))

	then := []change.Message{
		testenv.Delete(1, testenv.Row{"id": 1}),
		testenv.Tombstone(1),
		testenv.Upsert(1, userRow(1, "ann@example.com", "Ann again", 2)),
		testenv.Delete(2, userRow(2, "bob@example.com", "Bob", 1)),
		testenv.Tombstone(2),
	}
	e.Kafka.Produce(topic, then...)
	r.WaitFinished(int64(len(first) + len(then)))
	e.waitCommitted("g")
	st := r.Stats()
	r.Close()

	time.Sleep(2500 * time.Millisecond) // every deletion Iterable queued is through
	p, ok := e.Sim.Profile("ann@example.com")
	if !ok || p.DataFields["firstName"] != "Ann again" {
		t.Errorf("the re-inserted user: found %v, fields %v; want it created again", ok, p.DataFields)
	}
	if _, ok := e.Sim.Profile("bob@example.com"); ok {
		t.Error("the deleted user is still in Iterable")
	}
	if got := e.Sim.Stats().UsersDeleted; got != 2 {
		t.Errorf("Iterable deleted %d users, want 2", got)
	}
	deletes := 0
	for _, req := range e.Sim.Requests() {
		if req.Endpoint == sim.EndpointDeleteByEmail {
			deletes++
		}
	}
	if deletes != 2 || st.UsersDeleted != 2 || st.DeadLettered != 0 {
		t.Errorf("%d delete requests, %d deleted, %d dead-lettered: want 2 2 0", deletes, st.UsersDeleted, st.DeadLettered)
	}
}

// Update mode reads the existence set that `attrsync prime` fills: users
// primed there are updated without a lookup; the others are looked up,
// and those Iterable lacks are skipped, not created.
func TestUpdateModePrimedUsersNeedNoLookup(t *testing.T) {
	e := newEnv(t, 2, sim.Options{})
	const n, primed = 50, 30
	var ids []change.Identifier
	var msgs []change.Message
	for i := range n {
		email := fmt.Sprintf("user%02d@example.com", i)
		if i < primed {
			if err := e.Sim.SeedUser(email, "", map[string]any{"firstName": "Seed"}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, change.Identifier{Kind: change.Email, Value: email})
		}
		msgs = append(msgs, testenv.Upsert(i, userRow(i, email, "Synced", 1)))
	}
	opts, err := redis.ParseURL(e.Redis.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	set, err := state.NewExistence(context.Background(), rdb, "attrsync", "itest")
	if err != nil {
		t.Fatal(err)
	}
	if err := set.MarkExisting(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	e.Kafka.Produce(topic, msgs...)
	r := e.start(e.config("g", "  mode: update"))
	r.WaitFinished(int64(len(msgs)))
	e.waitCommitted("g")
	st := r.Stats()
	r.Close()

	lookups := 0
	for _, req := range e.Sim.Requests() {
		if req.Endpoint == sim.EndpointGetByEmail {
			lookups++
		}
	}
	if lookups != n-primed {
		t.Errorf("%d lookups, want %d: none for the %d primed users", lookups, n-primed, primed)
	}
	if len(e.Sim.Profiles()) != primed || st.Absent != n-primed {
		t.Errorf("%d profiles, %d absent: want %d and %d", len(e.Sim.Profiles()), st.Absent, primed, n-primed)
	}
	for _, id := range ids {
		if p, _ := e.Sim.Profile(id.Value); p.DataFields["firstName"] != "Synced" {
			t.Errorf("%s not updated: %v", id.Value, p.DataFields)
		}
	}
}
