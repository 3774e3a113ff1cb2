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
