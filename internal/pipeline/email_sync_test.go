package pipeline_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// userRow is a users-table row of id with the mapped columns set.
func userRow(id int, email, name string, version int) testenv.Row {
	return testenv.Row{"id": id, "email": email, "first_name": name, "plan": map[string]any{"tier": "pro"}, "version": version, "signup_at": 1700000000000}
}

// The case: 48 users change their email in a project whose
// profiles also hold a field attrsync does not map. Half the updates carry
// the before image (REPLICA IDENTITY FULL), half do not (Postgres's
// default), their rows known from an earlier sync. Every profile moves,
// keeping the unmapped field, with the row's new values; no second profile
// is created, nothing is dead-lettered, and every offset is committed.
func TestEmailChangesMoveProfilesKeepingUnmappedFields(t *testing.T) {
	e := newEnv(t, 3, sim.Options{})
	const n = 48
	oldEmail := func(i int) string { return fmt.Sprintf("Person%02d@Old.example.com", i) }
	newEmail := func(i int) string { return fmt.Sprintf("person%02d@new.example.com", i) }

	// Rows n/2.. were synced before: the state knows their emails.
	var first []change.Message
	for i := n / 2; i < n; i++ {
		first = append(first, testenv.Upsert(i, userRow(i, oldEmail(i), "Before", 1)))
	}
	e.Kafka.Produce(topic, first...)
	r := e.start(e.config("g"))
	r.WaitFinished(int64(len(first)))
	// Every profile holds a field another tool wrote; the first half were
	// created before attrsync ran.
	for i := range n {
		fields := map[string]any{"loyaltyTier": "gold"}
		if i < n/2 {
			fields["firstName"] = "Before"
		}
		if err := e.Sim.SeedUser(oldEmail(i), "", fields); err != nil {
			t.Fatal(err)
		}
	}

	var moves []change.Message
	for i := range n {
		after := userRow(i, newEmail(i), "After", 2)
		if i < n/2 {
			moves = append(moves, testenv.UpdateFrom(i, userRow(i, oldEmail(i), "Before", 1), after))
		} else {
			moves = append(moves, testenv.UpdateFrom(i, nil, after))
		}
	}
	e.Kafka.Produce(topic, moves...)
	r.WaitFinished(int64(len(first) + len(moves)))
	e.waitCommitted("g")
	st := r.Stats()
	r.Close()

	profiles := e.Sim.Profiles()
	if len(profiles) != n {
		t.Errorf("Iterable has %d profiles, want %d: one per user", len(profiles), n)
	}
	for i := range n {
		p, ok := profiles[newEmail(i)]
		if !ok {
			t.Errorf("user %d: no profile under the new email", i)
			continue
		}
		if p.DataFields["loyaltyTier"] != "gold" || p.DataFields["firstName"] != "After" {
			t.Errorf("user %d: profile holds %v, want the unmapped loyaltyTier kept and firstName After", i, p.DataFields)
		}
		if _, ok := profiles[strings.ToLower(oldEmail(i))]; ok {
			t.Errorf("user %d: a profile is left under the old email", i)
		}
	}
	if got := e.Sim.Stats().EmailsUpdated; got != n {
		t.Errorf("Iterable moved %d profiles, want %d", got, n)
	}
	if st.EmailsMoved != n || st.DeadLettered != 0 {
		t.Errorf("pipeline moved %d, dead-lettered %d", st.EmailsMoved, st.DeadLettered)
	}
}

// A move Iterable refuses because the new email has a profile of its own
// is dead-lettered with class email_change, both profiles stay as they
// were, and the offset is committed.
func TestRefusedEmailChangeIsDeadLetteredWithItsClass(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	if err := e.Sim.SeedUser("taken@example.com", "", map[string]any{"firstName": "Other"}); err != nil {
		t.Fatal(err)
	}
	msgs := []change.Message{
		testenv.Upsert(1, userRow(1, "ann@example.com", "Ann", 1)),
		testenv.UpdateFrom(1, nil, userRow(1, "taken@example.com", "Ann", 2)),
	}
	e.Kafka.Produce(topic, msgs...)
	r := e.start(e.config("g"))
	r.WaitFinished(int64(len(msgs)))
	e.waitCommitted("g")
	r.Close()

	classes, dead := e.deadByClass()
	if len(dead) != 1 || classes[change.ClassEmailChange] != 1 {
		t.Fatalf("dead letters by class %v, want one email_change", classes)
	}
	testenv.CheckDeadLetter(t, dead[0])
	if f, _ := dlq.Failure(dead[0]); f.HTTPStatus != 409 || strings.Contains(f.Reason, "@") {
		t.Errorf("failure %+v: want HTTP 409 and no email in the reason", f)
	}
	if p, _ := e.Sim.Profile("taken@example.com"); p.DataFields["firstName"] != "Other" {
		t.Errorf("the other profile was written: %v", p.DataFields)
	}
	if p, ok := e.Sim.Profile("ann@example.com"); !ok || p.DataFields["version"] != int64(1) {
		t.Errorf("the old profile changed: %v %v", ok, p.DataFields)
	}
}
