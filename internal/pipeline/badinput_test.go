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

// TestBadInputCorpus runs hostile messages through the whole pipeline, each
// followed by a good one: none may crash or stall it; each is dead-lettered
// with a reason (class as listed) or, where the class is empty, handled by
// rule (skipped, or synced when it is valid after all). The good messages
// all sync.
func TestBadInputCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-megabyte messages")
	}
	// Each case is a user of its own, so that coalescing cannot hide one
	// case behind the next.
	n := 0
	row := func(fields testenv.Row) testenv.Row {
		n++
		r := testenv.Row{"id": n, "email": fmt.Sprintf("bad%d@example.com", n), "first_name": "B", "version": 1}
		for k, v := range fields {
			r[k] = v
		}
		return r
	}
	upsert := func(fields testenv.Row) change.Message { r := row(fields); return testenv.Upsert(r["id"].(int), r) }
	valid := testenv.Upsert(1, row(nil)).Value
	cases := []struct {
		name  string
		msg   change.Message
		class change.Class // empty: not dead-lettered
	}{
		{"truncated", testenv.Raw(1, string(valid[:len(valid)/2])), change.ClassDecode},
		{"truncated in a string", testenv.Raw(1, `{"op":"u","after":{"email":"a@exa`), change.ClassDecode},
		{"invalid UTF-8 in a mapped field", testenv.Raw(1, "{\"op\":\"u\",\"after\":{\"email\":\"x@example.com\",\"first_name\":\"\xff\xfe\"}}"), change.ClassDecode},
		{"invalid UTF-8 in the identifier", testenv.Raw(1, "{\"op\":\"u\",\"after\":{\"email\":\"\xc3\x28@example.com\"}}"), change.ClassDecode},
		{"deep nesting", testenv.Raw(1, `{"op":"u","after":{"email":"x@example.com","x":`+strings.Repeat("[", 100000)+strings.Repeat("]", 100000)+`}}`), change.ClassDecode},
		{"deep nesting in a mapped path", upsert(testenv.Row{"plan": nest(500)}), change.ClassDecode},
		{"5 MB message, mapped fields small", upsert(testenv.Row{"notes": strings.Repeat("x", 5<<20)}), ""},
		{"attributes alone over 4 MB", upsert(testenv.Row{"first_name": strings.Repeat("y", 4<<20+100)}), change.ClassTooLarge},
		{"number beyond float64", testenv.Raw(1, `{"op":"u","after":{"email":"x@example.com","version":1e400}}`), change.ClassConvert},
		{"integer beyond int64", testenv.Raw(1, `{"op":"u","after":{"email":"x@example.com","version":123456789012345678901234567890}}`), change.ClassConvert},
		{"unknown op", testenv.Raw(1, `{"op":"z","after":{"email":"x@example.com"}}`), change.ClassDecode},
		{"op missing", testenv.Raw(1, `{"after":{"email":"x@example.com"}}`), change.ClassDecode},
		{"not an object", testenv.Raw(1, `"hello"`), change.ClassDecode},
		{"empty value", testenv.Raw(1, ``), ""}, // a tombstone: a delete, ignored by rule
		{"email a number", upsert(testenv.Row{"email": 12345}), change.ClassIdentifier},
		{"email an object", upsert(testenv.Row{"email": map[string]any{"a": 1}}), change.ClassIdentifier},
		{"email null", upsert(testenv.Row{"email": nil}), change.ClassIdentifier},
		{"version a string", upsert(testenv.Row{"version": "seven"}), change.ClassConvert},
		{"version an array", upsert(testenv.Row{"version": []any{1}}), change.ClassConvert},
		{"signup_at a boolean", upsert(testenv.Row{"signup_at": true}), change.ClassConvert},
		{"signup_at an object", upsert(testenv.Row{"signup_at": map[string]any{"t": 1}}), change.ClassConvert},
		{"plan a string (path through a scalar)", upsert(testenv.Row{"plan": "pro"}), change.ClassConvert},
		{"first_name an object (type fixed as string)", upsert(testenv.Row{"first_name": map[string]any{"a": 1}}), change.ClassTypeMismatch},
		// Iterable types an array by its elements: strings fit a string field.
		{"plan.tier an array of strings (type fixed as string)", upsert(testenv.Row{"plan": map[string]any{"tier": []any{"a"}}}), ""},
		{"plan.tier an array of numbers (type fixed as string)", upsert(testenv.Row{"plan": map[string]any{"tier": []any{1}}}), change.ClassTypeMismatch},
	}

	e := newEnv(t, 1, sim.Options{})
	// kfake gives a topic created through the API a 1 MB max.message.bytes
	// whatever the broker's setting; seed the dead-letter topic instead so it
	// takes the broker's 16 MB, as the source topic does.
	e.Kafka = testenv.StartKafka(t, 1, topic, dlqTopic)
	// Fix the field types, as a project that synced before has them.
	if err := e.Sim.SeedUser("seed@example.com", "", map[string]any{"firstName": "S", "planTier": "pro", "version": 1}); err != nil {
		t.Fatal(err)
	}
	var msgs []change.Message
	for i, c := range cases {
		msgs = append(msgs, c.msg, upsertRow(1000+i, fmt.Sprintf("good%d@example.com", i), "G", 1))
	}
	e.Kafka.Produce(topic, msgs...)
	r := e.start(e.config("g"))
	r.WaitFinished(int64(len(msgs)))
	e.waitCommitted("g")
	st := r.Stats()
	r.Close()

	if st.Finished() != st.Consumed || st.Consumed != int64(len(msgs)) {
		t.Errorf("consumed %d, finished %d, produced %d", st.Consumed, st.Finished(), len(msgs))
	}
	_, dead := e.deadByClass()
	byOffset := map[int64]change.Failure{}
	for _, d := range dead {
		f, _ := dlq.Failure(d)
		byOffset[dlq.OriginalPosition(d).Offset] = f
	}
	for i, c := range cases {
		f, isDead := byOffset[int64(2*i)]
		switch {
		case c.class == "" && isDead:
			t.Errorf("%s: dead-lettered (%s: %s), want it handled by rule", c.name, f.Class, f.Reason)
		case c.class != "" && !isDead:
			t.Errorf("%s: not dead-lettered, want class %s", c.name, c.class)
		case isDead && (f.Class != c.class || f.Reason == ""):
			t.Errorf("%s: dead-lettered as %s (%q), want class %s with a reason", c.name, f.Class, f.Reason, c.class)
		}
		if _, ok := byOffset[int64(2*i+1)]; ok {
			t.Errorf("the good message after %q was dead-lettered", c.name)
		}
		if _, ok := e.Sim.Profile(fmt.Sprintf("good%d@example.com", i)); !ok {
			t.Errorf("the good message after %q was not synced", c.name)
		}
	}
	for _, req := range testenv.BulkRequests(e.Sim) {
		if req.Status == 413 {
			t.Error("a request over Iterable's body limit was sent")
		}
	}
}

// nest is an object nested n levels deep under "tier".
func nest(n int) any {
	var v any = "deep"
	for range n {
		v = map[string]any{"tier": v}
	}
	return v
}
