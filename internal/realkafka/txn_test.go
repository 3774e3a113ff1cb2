package realkafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTransactionalSourceTopic writes the stream through a transactional
// producer, as Debezium's exactly-once mode does: committed transactions of
// 250 records, and one aborted transaction renaming 50 users. Transaction
// markers must never be decoded or dead-lettered, the aborted values must
// never reach Iterable, the group's lag ends at 0 (past the markers), and a
// replay of the topic ends although its ranges end in markers.
func TestTransactionalSourceTopic(t *testing.T) {
	const parts = 3
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: -1})
	h := testenv.History(500, 2, 41)
	aborted := make([]change.Message, 50)
	for u := range aborted {
		row := testenv.Clone(h.Last[strings.ToLower(userEmail(u))])
		row["first_name"], row["version"] = "ABORTED", 99
		aborted[u] = testenv.Upsert(u, row)
	}
	produceTransactions(t, e.Kafka.Brokers, e.Topic, h.Msgs, aborted)

	cfg := e.writeConfig("txn.yaml", syncConfig{bulkPerSecond: 100, maxUsers: 100})
	p := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 90*time.Second, "lag 0, past the last markers", func() bool { return e.caughtUp(parts) })
	if code := p.Stop(t, stopWithin); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
	for _, r := range testenv.BulkRequests(e.Sim) {
		for _, u := range r.Bulk.Users {
			if u.DataFields["firstName"] == "ABORTED" {
				t.Fatalf("a value of the aborted transaction reached Iterable (%v)", u.DataFields["version"])
			}
		}
	}
	if dead := e.Kafka.ReadAll(e.DLQTopic(), 1); len(dead) != 0 {
		t.Fatalf("%d dead letters, want none (transaction markers are not messages)", len(dead))
	}

	replay := e.startProc("replay", "-c", cfg, "--from", "earliest")
	if code := replay.Wait(t, 60*time.Second); code != 0 {
		t.Fatalf("replay exited %d\n%s", code, replay.Output(t))
	}
	if got := testenv.ReplaySummaryCount(t, replay.Output(t), "messages"); got != len(h.Msgs) {
		t.Errorf("the replay read %d messages, want the %d committed ones", got, len(h.Msgs))
	}
}

// produceTransactions writes committed in transactions of 250 records,
// with aborted as one aborted transaction in the middle.
func produceTransactions(t *testing.T, brokers []string, topic string, committed, aborted []change.Message) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.DefaultProduceTopic(topic),
		kgo.TransactionalID("attrsync-test-"+topic), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	txn := func(msgs []change.Message, commit bool) {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		recs := make([]*kgo.Record, len(msgs))
		for i, m := range msgs {
			recs[i] = &kgo.Record{Key: m.Key, Value: m.Value}
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	half := len(committed) / 2 / 250 * 250
	for i := 0; i < len(committed); i += 250 {
		if i == half {
			txn(aborted, false)
		}
		txn(committed[i:min(i+250, len(committed))], true)
	}
}
