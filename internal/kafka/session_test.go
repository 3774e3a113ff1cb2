package kafka_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/testenv"
)

// recorder is a Handler that keeps what it was handed and finishes it
// unless hold says otherwise.
type recorder struct {
	hold func(change.Position) bool

	mu       sync.Mutex
	handled  []change.Message
	held     []change.Position
	finisher kafka.Finisher
	drained  int
}

func (r *recorder) start(_ context.Context, _ []change.Position, f kafka.Finisher) kafka.Handler {
	r.mu.Lock()
	r.finisher = f
	r.mu.Unlock()
	return r
}

func (r *recorder) Handle(_ context.Context, m change.Message) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handled = append(r.handled, m)
	if r.hold != nil && r.hold(m.Pos) {
		r.held = append(r.held, m.Pos)
		return true
	}
	r.finisher.Finish(m.Pos)
	return true
}

func (r *recorder) Drain(context.Context) {
	r.mu.Lock()
	r.drained++
	r.mu.Unlock()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.handled)
}

// release finishes every held message.
func (r *recorder) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.held {
		r.finisher.Finish(p)
	}
	r.held = nil
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func groupConfig(group, topic string) kafka.GroupConfig {
	return kafka.GroupConfig{
		Config:        kafka.Config{GroupID: group, Topics: []string{topic}, SessionTimeout: 6 * time.Second, HeartbeatInterval: time.Second},
		ShutdownGrace: 5 * time.Second, Logger: quietLog(),
	}
}

func produceN(k *testenv.Kafka, topic string, n int) {
	msgs := make([]change.Message, n)
	for i := range msgs {
		msgs[i] = change.Message{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "v%d", i)}
	}
	k.Produce(topic, msgs...)
}

func connTo(t *testing.T, k *testenv.Kafka) *kafka.Conn {
	t.Helper()
	conn, err := kafka.NewConn(kafka.Config{Brokers: k.Brokers})
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Only finished messages are committed: a message held forever keeps its
// partition's commit point at its offset, also after shutdown.
func TestGroupCommitsOnlyWhatFinished(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 3, topic)
	produceN(k, topic, 300)
	end := k.EndOffsets(topic, 3)
	var heldAt change.Position
	rec := &recorder{hold: func(p change.Position) bool {
		if p.Partition == 1 && p.Offset == 20 {
			heldAt = p
			return true
		}
		return false
	}}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- kafka.RunGroup(ctx, connTo(t, k), groupConfig("g", topic), rec.start) }()
	waitFor(t, "every message handled", func() bool { return rec.count() == 300 })
	waitFor(t, "commits", func() bool {
		c := k.Committed("g", topic, 3)
		return c[0] == end[0] && c[2] == end[2] && c[1] == 20
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if rec.drained != 1 {
		t.Errorf("Drain called %d times, want 1", rec.drained)
	}
	if c := k.Committed("g", topic, 3); c[1] != 20 || heldAt.Offset != 20 {
		t.Errorf("after shutdown partition 1 committed at %d, want 20 (the held message)", c[1])
	}
}

// A second member joining takes partitions at the offsets the first one
// committed when its generation ended: every message is handled once.
func TestRebalanceHandsOverAtTheCommittedOffsets(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 4, topic)
	produceN(k, topic, 200)
	a, b := &recorder{}, &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	conn := connTo(t, k)
	var wg sync.WaitGroup
	wg.Go(func() { _ = kafka.RunGroup(ctx, conn, groupConfig("g", topic), a.start) })
	waitFor(t, "the first member to read everything", func() bool { return a.count() == 200 })
	wg.Go(func() { _ = kafka.RunGroup(ctx, conn, groupConfig("g", topic), b.start) })
	waitFor(t, "the first member's generation to end", func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.drained >= 1
	})
	produceN(k, topic, 200)
	waitFor(t, "both members to read the rest", func() bool { return a.count()+b.count() == 400 })
	time.Sleep(300 * time.Millisecond)
	cancel()
	wg.Wait()
	seen := map[change.Position]int{}
	for _, r := range []*recorder{a, b} {
		for _, m := range r.handled {
			seen[m.Pos]++
		}
	}
	for p, n := range seen {
		if n != 1 {
			t.Errorf("%v handled %d times", p, n)
		}
	}
	if len(seen) != 400 || b.count() == 0 {
		t.Errorf("handled %d distinct messages (second member %d), want 400 spread over both", len(seen), b.count())
	}
}

// Fetching stops when the held messages reach the budget, and goes on as
// they finish.
func TestBudgetBoundsHeldMessages(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 2, topic)
	produceN(k, topic, 500)
	rec := &recorder{hold: func(change.Position) bool { return true }}
	cfg := groupConfig("g", topic)
	// Room for about 20 of these tiny messages: each counts its few bytes
	// plus the fixed overhead of a held message (2048 bytes).
	cfg.MaxHeldBytes = 20 * 2060 // about 20 small messages
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = kafka.RunGroup(ctx, connTo(t, k), cfg, rec.start) }()
	waitFor(t, "the first messages", func() bool { return rec.count() > 0 })
	time.Sleep(500 * time.Millisecond)
	if n := rec.count(); n > 21 {
		t.Fatalf("%d messages held with a budget of about 20", n)
	}
	for rec.count() < 500 {
		rec.release()
		time.Sleep(5 * time.Millisecond)
	}
	rec.release()
	waitFor(t, "everything committed", func() bool {
		c, end := k.Committed("g", topic, 2), k.EndOffsets(topic, 2)
		return c[0] == end[0] && c[1] == end[1]
	})
}

// A bounded read ends by itself once its ranges are read and finished.
func TestReadRangesEnds(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 2, topic)
	produceN(k, topic, 100)
	conn := connTo(t, k)
	ranges, err := kafka.Ranges(t.Context(), conn, []string{topic}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	produceN(k, topic, 50) // after the ranges were listed: not read
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := kafka.ReadRanges(ctx, conn, ranges, kafka.ReadConfig{ShutdownGrace: time.Second, Logger: quietLog()}, rec.start); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("ReadRanges ran until its deadline")
	}
	if rec.count() != 100 {
		t.Fatalf("read %d messages, want the 100 in the ranges", rec.count())
	}
}

// A member whose generation ended with its budget full of unfinished work
// starts the next generation with the budget free: the abandoned messages
// are consumed again, not counted forever.
func TestBudgetIsFreeAfterARebalance(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 4, topic)
	produceN(k, topic, 400)
	held := &recorder{hold: func(change.Position) bool { return true }}
	cfg := groupConfig("g", topic)
	// Room for about 20 of these tiny messages: each counts its few bytes
	// plus the fixed overhead of a held message (2048 bytes).
	cfg.MaxHeldBytes = 20 * 2060
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = kafka.RunGroup(ctx, connTo(t, k), cfg, held.start) }()
	waitFor(t, "the budget to fill", func() bool { return held.count() >= 15 })
	before := held.count()
	other := &recorder{}
	go func() { _ = kafka.RunGroup(ctx, connTo(t, k), groupConfig("g", topic), other.start) }()
	waitFor(t, "the first member's next generation to read again", func() bool {
		held.mu.Lock()
		defer held.mu.Unlock()
		return held.drained >= 1 && len(held.handled) > before
	})
}
