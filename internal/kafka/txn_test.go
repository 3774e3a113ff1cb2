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
	"github.com/twmb/franz-go/pkg/kgo"
)

// ProduceTransactions writes, through a transactional producer, committed
// transactions of per records each and one aborted transaction whose
// values start with "ABORTED", in that order: commits, abort, commits.
func produceTransactions(t *testing.T, brokers []string, topic string, commits, per int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("txn-"+topic), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	n := 0
	txn := func(value string, commit bool) {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for range per {
			r := &kgo.Record{Key: fmt.Appendf(nil, "k%d", n%7), Value: fmt.Appendf(nil, "%s-%d", value, n)}
			n++
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	for range commits {
		txn("ok", true)
	}
	txn("ABORTED", false)
	for range commits {
		txn("ok", true)
	}
}

// A transactional topic: transaction markers are never handed out, records
// of the aborted transaction never either, and the committed offsets pass
// the markers at the end of each partition.
func TestTransactionalTopicIsReadCommitted(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 2, topic)
	produceTransactions(t, k.Brokers, topic, 3, 10)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- kafka.RunGroup(ctx, connTo(t, k), groupConfig("g", topic), rec.start) }()
	waitFor(t, "the committed records", func() bool { return rec.count() >= 60 })
	end := k.EndOffsets(topic, 2)
	waitFor(t, "commits past the last markers", func() bool {
		c := k.Committed("g", topic, 2)
		return c[0] == end[0] && c[1] == end[1]
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkCommittedOnly(t, rec.handled, 60)
}

// A bounded read of a transactional topic ends although its ranges end in
// transaction markers, which are never handed out.
func TestReadRangesEndsOnMarkers(t *testing.T) {
	const topic = "users"
	k := testenv.StartKafka(t, 2, topic)
	produceTransactions(t, k.Brokers, topic, 2, 5)
	conn := connTo(t, k)
	ranges, err := kafka.Ranges(t.Context(), conn, []string{topic}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := kafka.ReadRanges(ctx, conn, ranges, kafka.ReadConfig{ShutdownGrace: time.Second, Logger: quietLog()}, rec.start); err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("the bounded read did not end by itself")
	}
	checkCommittedOnly(t, rec.handled, 20)
}

func checkCommittedOnly(t *testing.T, handled []change.Message, want int) {
	t.Helper()
	for _, m := range handled {
		if bytes.HasPrefix(m.Value, []byte("ABORTED")) {
			t.Errorf("a record of the aborted transaction was handed out: %s at %v", m.Value, m.Pos)
		}
		if !bytes.HasPrefix(m.Value, []byte("ok-")) {
			t.Errorf("a record that is not data (a transaction marker?) was handed out at %v: %q", m.Pos, m.Value)
		}
	}
	if len(handled) != want {
		t.Errorf("handed out %d records, want the %d committed ones", len(handled), want)
	}
}
