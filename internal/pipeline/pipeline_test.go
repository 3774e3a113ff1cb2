package pipeline_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

func TestSyncEndsWithLastValues(t *testing.T) {
	e := newEnv(t, 4, sim.Options{})
	h := testenv.History(150, 6, 1)
	e.Kafka.Produce(topic, h.Msgs...)

	r := e.start(e.config("g1"))
	r.WaitFinished(int64(len(h.Msgs)))
	e.waitCommitted("g1")
	st := r.Stats()
	r.Close()

	testenv.CheckProfiles(t, e.Sim, h.Last)
	if st.Consumed != int64(len(h.Msgs)) || st.Finished() != st.Consumed {
		t.Errorf("consumed %d, finished %d, produced %d", st.Consumed, st.Finished(), len(h.Msgs))
	}
	for _, req := range testenv.BulkRequests(e.Sim) {
		if req.Status != 200 {
			t.Errorf("a bulkUpdate got %d %s", req.Status, req.Code)
		}
		if req.Users > 50 {
			t.Errorf("a request carried %d users, over max_users 50", req.Users)
		}
		seen := map[string]bool{}
		for _, u := range req.Bulk.Users {
			if seen[*u.Email] {
				t.Errorf("%s twice in one request", *u.Email)
			}
			seen[*u.Email] = true
		}
	}

	// A new group over the same state finds everything already synced.
	before := len(testenv.BulkRequests(e.Sim))
	r2 := e.start(e.config("g2"))
	r2.WaitFinished(int64(len(h.Msgs)))
	e.waitCommitted("g2")
	st2 := r2.Stats()
	r2.Close()
	if after := len(testenv.BulkRequests(e.Sim)); after != before {
		t.Errorf("re-consuming the stream sent %d requests, want 0", after-before)
	}
	if st2.Stale+st2.Unchanged != int64(len(h.Msgs)) {
		t.Errorf("re-consumed: %d stale + %d unchanged, want %d", st2.Stale, st2.Unchanged, len(h.Msgs))
	}
}

func TestOnlyChangedAttributesAreSent(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	r := e.start(e.config("g"))
	row := testenv.Row{"id": 1, "email": "ann@example.com", "first_name": "Ann", "plan": map[string]any{"tier": "pro"}, "version": 1, "signup_at": 1700000000000}
	step := func(n int64, change func(testenv.Row)) []sim.Request {
		before := len(testenv.BulkRequests(e.Sim))
		row = testenv.Clone(row)
		change(row)
		e.Kafka.Produce(topic, testenv.Upsert(1, row))
		r.WaitFinished(n)
		return testenv.BulkRequests(e.Sim)[before:]
	}
	if reqs := step(1, func(testenv.Row) {}); len(reqs) != 1 || len(reqs[0].Bulk.Users[0].DataFields) != 4 {
		t.Fatalf("first sight: %d requests, want 1 with all 4 attributes", len(reqs))
	}
	if reqs := step(2, func(r testenv.Row) { r["last_login"] = "now" }); len(reqs) != 0 {
		t.Fatalf("a change of an unmapped column sent %d requests", len(reqs))
	}
	reqs := step(3, func(r testenv.Row) { r["plan"] = map[string]any{"tier": "team"} })
	if len(reqs) != 1 {
		t.Fatalf("plan change sent %d requests, want 1", len(reqs))
	}
	if f := reqs[0].Bulk.Users[0].DataFields; len(f) != 1 || f["planTier"] != "team" {
		t.Fatalf("plan change sent dataFields %v, want only planTier=team", f)
	}
	// plan: null reads plan.tier as null, which removes the field.
	reqs = step(4, func(r testenv.Row) { r["plan"] = nil })
	if len(reqs) != 1 || len(reqs[0].Bulk.Users[0].DataFields) != 1 {
		t.Fatalf("null parent: %d requests", len(reqs))
	}
	r.Close()
	p, _ := e.Sim.Profile("ann@example.com")
	if _, ok := p.DataFields["planTier"]; ok || p.DataFields["firstName"] != "Ann" {
		t.Fatalf("profile %v: want firstName kept and planTier removed", p.DataFields)
	}
}

func TestBadInputIsDeadLettered(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	good := func(id int) change.Message {
		return testenv.Upsert(id, testenv.Row{"email": fmt.Sprintf("good%d@example.com", id), "first_name": "G", "version": 1})
	}
	bad := []struct {
		msg   change.Message
		class change.Class
	}{
		{testenv.Raw(10, `{"op":"u","after":{"email":"x@example.com"`), change.ClassDecode},
		{testenv.Raw(11, `[1,2,3]`), change.ClassDecode},
		{testenv.Upsert(12, testenv.Row{"first_name": "no email"}), change.ClassIdentifier},
		{testenv.Upsert(13, testenv.Row{"email": "not-an-email", "first_name": "x"}), change.ClassIdentifier},
		{testenv.Upsert(14, testenv.Row{"email": "d@example.com", "signup_at": "yesterday-ish"}), change.ClassConvert},
	}
	msgs := []change.Message{good(100)}
	for i, b := range bad {
		msgs = append(msgs, b.msg, good(101+i))
	}
	e.Kafka.Produce(topic, msgs...)
	r := e.start(e.config("g"))
	r.WaitFinished(int64(len(msgs)))
	e.waitCommitted("g")
	r.Close()

	dead := e.Kafka.ReadAll(dlqTopic, 1)
	if len(dead) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(dead), len(bad))
	}
	for i, d := range dead {
		testenv.CheckDeadLetter(t, d)
		f, ok := dlq.Failure(d)
		if !ok || f.Class != bad[i].class || f.Reason == "" {
			t.Errorf("dead letter %d: failure %+v, want class %s with a reason", i, f, bad[i].class)
		}
		pos := dlq.OriginalPosition(d)
		if pos.Topic != topic || pos.Offset != int64(2*i+1) {
			t.Errorf("dead letter %d: original position %v, want %s offset %d", i, pos, topic, 2*i+1)
		}
		if string(d.Value) != string(bad[i].msg.Value) || string(d.Key) != string(bad[i].msg.Key) {
			t.Errorf("dead letter %d does not carry the original key and value", i)
		}
		for _, h := range []string{dlq.HeaderPartition, dlq.HeaderHTTPStatus, dlq.HeaderAttempts, dlq.HeaderFailedAt} {
			if _, ok := d.Header(h); !ok {
				t.Errorf("dead letter %d lacks header %s", i, h)
			}
		}
	}
	for id := 100; id <= 100+len(bad); id++ {
		if _, ok := e.Sim.Profile(fmt.Sprintf("good%d@example.com", id)); !ok {
			t.Errorf("good%d@example.com was not synced", id)
		}
	}
}

func TestUpdateModeTouchesOnlyExistingUsers(t *testing.T) {
	for _, flag := range []bool{false, true} {
		t.Run(fmt.Sprintf("update_only_flag=%v", flag), func(t *testing.T) {
			e := newEnv(t, 2, sim.Options{UpdateOnlyEnabled: true})
			if err := e.Sim.SeedUser("old@example.com", "", map[string]any{"firstName": "Before"}); err != nil {
				t.Fatal(err)
			}
			msgs := []change.Message{
				testenv.Upsert(1, testenv.Row{"email": "old@example.com", "first_name": "After", "version": 1}),
				testenv.Upsert(2, testenv.Row{"email": "new@example.com", "first_name": "New", "version": 1}),
				testenv.Upsert(2, testenv.Row{"email": "new@example.com", "first_name": "Newer", "version": 2}),
				testenv.Upsert(1, testenv.Row{"email": "old@example.com", "first_name": "Latest", "version": 2}),
			}
			e.Kafka.Produce(topic, msgs...)
			r := e.start(e.config("g", "  mode: update", fmt.Sprintf("  update_only_flag: %v", flag)))
			r.WaitFinished(int64(len(msgs)))
			e.waitCommitted("g")
			st := r.Stats()
			r.Close()
			if _, ok := e.Sim.Profile("new@example.com"); ok {
				t.Fatal("update mode created a user")
			}
			p, _ := e.Sim.Profile("old@example.com")
			if p.DataFields["firstName"] != "Latest" {
				t.Fatalf("existing user has firstName %v, want Latest", p.DataFields["firstName"])
			}
			if st.Absent == 0 || st.DeadLettered != 0 {
				t.Fatalf("absent %d, dead-lettered %d: absent users are skipped, not dead-lettered", st.Absent, st.DeadLettered)
			}
			lookups := 0
			for _, req := range e.Sim.Requests() {
				if req.Endpoint == sim.EndpointGetByEmail || req.Endpoint == sim.EndpointByUserID {
					lookups++
				}
			}
			if flag && lookups != 0 {
				t.Errorf("update_only_flag made %d lookups, want none", lookups)
			}
			if !flag && lookups == 0 {
				t.Error("update mode without the flag made no lookup")
			}
		})
	}
}

// TestRejectedUsersAreDeadLettered has Iterable refuse one user of a batch
// (GDPR-forgotten) and checks that its messages land in the DLQ with the
// reason while the rest of the batch is accepted, and that its state did
// not advance.
func TestRejectedUsersAreDeadLettered(t *testing.T) {
	e := newEnv(t, 1, sim.Options{})
	e.Sim.Forget("gone@example.com")
	msgs := []change.Message{
		testenv.Upsert(1, testenv.Row{"email": "kept@example.com", "first_name": "A", "version": 1}),
		testenv.Upsert(2, testenv.Row{"email": "gone@example.com", "first_name": "B", "version": 1}),
		testenv.Upsert(2, testenv.Row{"email": "gone@example.com", "first_name": "C", "version": 2}),
		testenv.Upsert(3, testenv.Row{"email": "also@example.com", "first_name": "D", "version": 1}),
	}
	e.Kafka.Produce(topic, msgs...)
	r := e.start(e.config("g", "batch: {max_users: 50, max_wait: 300ms}"))
	r.WaitFinished(int64(len(msgs)))
	e.waitCommitted("g")
	r.Close()

	dead := e.Kafka.ReadAll(dlqTopic, 1)
	if len(dead) != 2 {
		t.Fatalf("%d dead letters, want the 2 messages of the forgotten user", len(dead))
	}
	for _, d := range dead {
		testenv.CheckDeadLetter(t, d)
		f, _ := dlq.Failure(d)
		if f.Class != change.ClassRejected || !strings.Contains(f.Reason, "forgottenEmails") || f.HTTPStatus != 200 {
			t.Errorf("dead letter failure %+v, want iterable_rejected naming forgottenEmails", f)
		}
		if bytes.Contains(d.Value, []byte("kept@")) {
			t.Error("an accepted user's message was dead-lettered")
		}
	}
	for _, email := range []string{"kept@example.com", "also@example.com"} {
		if _, ok := e.Sim.Profile(email); !ok {
			t.Errorf("%s was not synced", email)
		}
	}
}
