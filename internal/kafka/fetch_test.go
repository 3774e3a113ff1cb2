package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/testenv"
)

// A fetcher reads one response ahead of what it hands out, and no more:
// with the budget full and nothing finishing, a partition of four
// responses' worth of messages costs two fetches, then fetching stops until
// messages finish; then every message comes, once and in order.
func TestFetchesOneResponseAhead(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 1, topic)
	value := bytes.Repeat([]byte("x"), 10<<10)
	msgs := make([]change.Message, 400)
	for i := range msgs {
		msgs[i] = change.Message{Key: fmt.Appendf(nil, "k%d", i), Value: value}
	}
	// Four batches of 1,000 KB: each fetch response (1 MiB at most) holds
	// one of them.
	for b := range 4 {
		k.Produce(topic, msgs[b*100:(b+1)*100]...)
	}
	fetches := k.CountFetches()

	rec := &recorder{hold: func(change.Position) bool { return true }}
	cfg := groupConfig("g", topic)
	cfg.MaxHeldBytes = 20 * (10<<10 + 2048 + 4) // about 20 messages
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = kafka.RunGroup(ctx, connTo(t, k), cfg, rec.start) }()
	waitFor(t, "the first messages", func() bool { return rec.count() > 0 })
	time.Sleep(time.Second)
	if n := fetches(); n != 2 {
		t.Errorf("%d fetches while the budget stayed full, want 2 (the response being handed out and one ahead)", n)
	}
	for rec.count() < len(msgs) {
		rec.release()
		time.Sleep(5 * time.Millisecond)
	}
	rec.release()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for i, m := range rec.handled {
		if m.Pos.Offset != int64(i) {
			t.Fatalf("message %d has offset %d: not every message once and in order", i, m.Pos.Offset)
		}
	}
	if len(rec.handled) != len(msgs) {
		t.Fatalf("%d messages handled, want %d", len(rec.handled), len(msgs))
	}
}

// A message comes with its key and value as produced, a missing key and a
// tombstone's value nil and an empty value empty, and each its own: the
// two share one copy out of the fetch response, and an append to the key
// must not write into the value.
func TestMessagesKeepKeyValueAndNulls(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 1, topic)
	k.Produce(topic,
		change.Message{Value: []byte("no key")},
		change.Message{Key: []byte("tombstone")},
		change.Message{Key: []byte("empty"), Value: []byte{}},
		change.Message{Key: []byte("k"), Value: []byte("value")},
	)
	rec := &recorder{hold: func(change.Position) bool { return false }}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = kafka.RunGroup(ctx, connTo(t, k), groupConfig("g", topic), rec.start) }()
	waitFor(t, "the four messages", func() bool { return rec.count() == 4 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	got := rec.handled
	if got[0].Key != nil || string(got[0].Value) != "no key" {
		t.Errorf("message without a key: key %q (nil %v), value %q", got[0].Key, got[0].Key == nil, got[0].Value)
	}
	if string(got[1].Key) != "tombstone" || got[1].Value != nil {
		t.Errorf("tombstone: key %q, value %q (nil %v), want a nil value", got[1].Key, got[1].Value, got[1].Value == nil)
	}
	if string(got[2].Key) != "empty" || got[2].Value == nil || len(got[2].Value) != 0 {
		t.Errorf("empty value: key %q, value %q (nil %v), want empty, not nil", got[2].Key, got[2].Value, got[2].Value == nil)
	}
	_ = append(got[3].Key, "XXXXX"...)
	if string(got[3].Key) != "k" || string(got[3].Value) != "value" {
		t.Errorf("after an append to the key: key %q, value %q, want k and value", got[3].Key, got[3].Value)
	}
}
