package realkafka

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestDLQWriterFitsTheTopicLimit checks the dead-letter writer's size
// accounting against a real broker, which measures whole record batches
// against max.message.bytes: an oversized dead letter is written truncated,
// records that fit one by one but not together in one batch are all
// written, and nothing is refused.
func TestDLQWriterFitsTheTopicLimit(t *testing.T) {
	brokers := strings.Split(broker(t, "ATTRSYNC_KAFKA_BROKERS"), ",")
	const limit = 20000
	topic := fmt.Sprintf("attrsync-it-dlq-limit-%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	client := &kafkago.Client{Addr: kafkago.TCP(brokers...)}
	res, err := client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: topic, NumPartitions: 2, ReplicationFactor: 1,
		ConfigEntries: []kafkago.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: fmt.Sprint(limit)}},
	}}})
	if err == nil {
		err = res.Errors[topic]
	}
	if err != nil {
		t.Fatalf("create %s: %v", topic, err)
	}
	t.Cleanup(func() {
		_, _ = client.DeleteTopics(context.Background(), &kafkago.DeleteTopicsRequest{Topics: []string{topic}})
	})

	value := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	record := func(key string, v []byte) change.Message {
		return dlq.Record(change.Message{Pos: change.Position{Topic: "users"}, Key: []byte(key), Value: v},
			&change.Failure{Class: change.ClassDecode, Reason: "test"}, time.Now())
	}
	recs := []change.Message{record("big", value(100_000))}
	for i := range 6 {
		recs = append(recs, record("near", value(limit-600)), record(fmt.Sprintf("small-%d", i), value(10)))
	}
	w := kafka.NewWriter(&kafka.Conn{Brokers: brokers}, topic, kafka.WithLogger(slog.New(slog.DiscardHandler)))
	defer w.Close()
	if err := w.Write(ctx, recs); err != nil {
		t.Fatalf("Write: %v", err)
	}

	count := map[string]int{}
	for _, m := range testenv.ExternalKafka(t, brokers).ReadAll(topic, 2) {
		count[string(m.Key)]++
		size, cut := m.Header(dlq.HeaderTruncated)
		switch {
		case string(m.Key) == "big" && (string(size) != "100000" || len(m.Value) >= limit):
			t.Errorf("big: header %q, value %d bytes; want it cut to fit", size, len(m.Value))
		case string(m.Key) != "big" && cut:
			t.Errorf("%s: truncated although it fits", m.Key)
		}
	}
	if count["big"] != 1 || count["near"] != 6 || len(count) != 8 {
		t.Errorf("records by key %v, want big once, near 6 times and 6 small ones", count)
	}
}
