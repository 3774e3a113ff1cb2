package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	kafkago "github.com/segmentio/kafka-go"
)

// Writer appends records to one topic (the dead-letter topic), waiting for
// all in-sync replicas, so a record is durable before the offset of the
// message it stands for is committed.
type Writer struct {
	w *kafkago.Writer
}

// maxRecordBytes is the largest dead letter the writer sends. The topic
// (max.message.bytes) must allow what the source topics allow.
const maxRecordBytes = 16 << 20

// NewWriter returns a writer to topic.
func NewWriter(conn *Conn, topic string) *Writer {
	return &Writer{w: &kafkago.Writer{
		Addr:         kafkago.TCP(conn.Brokers...),
		Topic:        topic,
		Transport:    conn.transport(),
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		MaxAttempts:  10,
		// A dead letter carries the original value, which may be as large
		// as the source topic allows; kafka-go's 1 MB default refuses a
		// larger one forever, which stalls the partition.
		BatchBytes: maxRecordBytes,
	}}
}

// Write appends msgs (their Pos is ignored) and returns once all are acknowledged.
func (w *Writer) Write(ctx context.Context, msgs []change.Message) error {
	km := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		km[i] = toKafka(m)
	}
	if err := w.w.WriteMessages(ctx, km...); err != nil {
		return fmt.Errorf("kafka: write %d records to %s: %w", len(msgs), w.w.Topic, err)
	}
	return nil
}

// Close flushes and closes the writer.
func (w *Writer) Close() error { return w.w.Close() }

// EnsureTopic creates topic when it does not exist, with the broker's
// default replication. It returns a clear error when the cluster refuses
// (for example when the user may not create topics).
func EnsureTopic(ctx context.Context, conn *Conn, topic string, partitions int) error {
	client := &kafkago.Client{Addr: kafkago.TCP(conn.Brokers...), Transport: conn.transport(), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return fmt.Errorf("kafka: metadata for %s: %w", topic, conn.explain(err))
	}
	for _, t := range meta.Topics {
		if t.Name == topic && t.Error == nil && len(t.Partitions) > 0 {
			return nil
		}
	}
	res, err := client.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{
		Topic: topic, NumPartitions: partitions, ReplicationFactor: -1,
	}}})
	if err != nil {
		return fmt.Errorf("kafka: create dead-letter topic %s: %w", topic, conn.explain(err))
	}
	if err := res.Errors[topic]; err != nil && !errors.Is(err, kafkago.TopicAlreadyExists) {
		return fmt.Errorf("kafka: create dead-letter topic %s (create it yourself, or allow attrsync to): %w", topic, err)
	}
	return nil
}

// Partitions returns the number of partitions of each topic.
func Partitions(ctx context.Context, conn *Conn, topics []string) (map[string]int, error) {
	client := &kafkago.Client{Addr: kafkago.TCP(conn.Brokers...), Transport: conn.transport(), Timeout: 10 * time.Second}
	meta, err := client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, fmt.Errorf("kafka: metadata: %w", conn.explain(err))
	}
	out := map[string]int{}
	for _, t := range meta.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("kafka: topic %s: %w", t.Name, t.Error)
		}
		out[t.Name] = len(t.Partitions)
	}
	return out, nil
}
