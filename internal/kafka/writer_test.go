package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/testenv"
)

const dlqTopic = "attrsync.test.dlq"

// startDLQ starts kfake with a three-partition dead-letter topic, its
// max.message.bytes set when maxBytes > 0.
func startDLQ(t *testing.T, maxBytes int) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	topic := kafkago.TopicConfig{Topic: dlqTopic, NumPartitions: 3, ReplicationFactor: 1}
	if maxBytes > 0 {
		topic.ConfigEntries = []kafkago.ConfigEntry{{ConfigName: "max.message.bytes", ConfigValue: strconv.Itoa(maxBytes)}}
	}
	client := &kafkago.Client{Addr: kafkago.TCP(c.ListenAddrs()...)}
	res, err := client.CreateTopics(t.Context(), &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{topic}})
	if err == nil {
		err = res.Errors[dlqTopic]
	}
	if err != nil {
		t.Fatalf("create %s: %v", dlqTopic, err)
	}
	return c
}

func newWriter(t *testing.T, c *kfake.Cluster) *kafka.Writer {
	t.Helper()
	w := kafka.NewWriter(&kafka.Conn{Brokers: c.ListenAddrs()}, dlqTopic, kafka.WithLogger(slog.New(slog.DiscardHandler)))
	t.Cleanup(func() { _ = w.Close() })
	return w
}

// deadLetter is a record as the pipeline writes it: a key, a value and the
// failure headers.
func deadLetter(key string, value []byte) change.Message {
	return dlq.Record(change.Message{Pos: change.Position{Topic: "users", Offset: 1}, Key: []byte(key), Value: value},
		&change.Failure{Class: change.ClassDecode, Reason: "test"}, time.Now())
}

// readBack returns the dead-letter topic's records by key.
func readBack(t *testing.T, c *kfake.Cluster) map[string][]change.Message {
	t.Helper()
	out := map[string][]change.Message{}
	for _, m := range testenv.ExternalKafka(t, c.ListenAddrs()).ReadAll(dlqTopic, 3) {
		out[string(m.Key)] = append(out[string(m.Key)], m)
	}
	return out
}

func pattern(n int) []byte {
	return bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
}

// TestWriterTruncatesWhatTheTopicCannotTake: a dead letter larger than the
// topic's max.message.bytes, or records that fit one by one but not in one
// batch, used to fail their partition's write forever, and the whole Write
// with it. Every record must be written, the oversized one truncated with
// its original size in a header.
func TestWriterTruncatesWhatTheTopicCannotTake(t *testing.T) {
	t.Parallel()
	const limit = 20000
	c := startDLQ(t, limit)

	// kfake honours max.message.bytes: a plain writer is refused.
	raw := &kafkago.Writer{Addr: kafkago.TCP(c.ListenAddrs()...), Topic: dlqTopic, BatchBytes: 1 << 20, RequiredAcks: kafkago.RequireAll}
	defer raw.Close()
	err := raw.WriteMessages(t.Context(), kafkago.Message{Value: pattern(limit + 1)})
	if werrs, ok := err.(kafkago.WriteErrors); !ok || !errors.Is(werrs[0], kafkago.MessageSizeTooLarge) {
		t.Fatalf("kfake took a record over max.message.bytes: %v", err)
	}

	var recs []change.Message
	for i := range 20 {
		recs = append(recs, deadLetter(fmt.Sprintf("small-%d", i), []byte("small")))
	}
	big := pattern(100_000)
	recs = append(recs, deadLetter("big", big))
	for range 4 { // one key, one partition: each fits, four together do not
		recs = append(recs, deadLetter("near", pattern(limit-600)))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := newWriter(t, c).Write(ctx, recs); err != nil {
		t.Fatalf("Write: %v", err)
	}

	got := readBack(t, c)
	for i := range 20 {
		k := fmt.Sprintf("small-%d", i)
		if len(got[k]) != 1 || string(got[k][0].Value) != "small" {
			t.Errorf("%s: %d records, want 1 unchanged", k, len(got[k]))
		} else if _, cut := got[k][0].Header(dlq.HeaderTruncated); cut {
			t.Errorf("%s: marked truncated", k)
		}
	}
	if n := len(got["near"]); n != 4 {
		t.Errorf("near: %d records, want 4", n)
	}
	for _, m := range got["near"] {
		if len(m.Value) != limit-600 {
			t.Errorf("near: value of %d bytes, want all %d", len(m.Value), limit-600)
		}
	}
	if len(got["big"]) != 1 {
		t.Fatalf("big: %d records, want 1", len(got["big"]))
	}
	m := got["big"][0]
	size, _ := m.Header(dlq.HeaderTruncated)
	if string(size) != "100000" || len(m.Value) >= limit || len(m.Value) < limit/2 || !bytes.HasPrefix(big, m.Value) {
		t.Errorf("big: header %s=%q and a value of %d bytes; want 100000 and a prefix of the original under %d bytes",
			dlq.HeaderTruncated, size, len(m.Value), limit)
	}
	if f, ok := dlq.Failure(m); !ok || f.Class != change.ClassDecode {
		t.Errorf("big: the failure headers did not survive the cut")
	}
	testenv.CheckDeadLetter(t, m)
}

// TestWriterPartialFailureWritesEachRecordOnce: when the broker refuses one
// partition's batch, Write must send only that partition's records again.
// The caller retries a failed Write with all its records (as the pipeline
// does), so records already written would otherwise be duplicated.
func TestWriterPartialFailureWritesEachRecordOnce(t *testing.T) {
	t.Parallel()
	c := startDLQ(t, 0)
	fault := c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Topic: dlqTopic, Partitions: []int32{1}, Err: kerr.PolicyViolation})
	var recs []change.Message
	for i := range 30 {
		recs = append(recs, deadLetter(fmt.Sprintf("k%d", i), []byte("v")))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	w := newWriter(t, c)
	for err := w.Write(ctx, recs); err != nil; err = w.Write(ctx, recs) {
		if ctx.Err() != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	if fault.Hits() != 1 {
		t.Fatalf("the fault answered %d produce requests, want 1", fault.Hits())
	}
	got := readBack(t, c)
	for i := range 30 {
		if k := fmt.Sprintf("k%d", i); len(got[k]) != 1 {
			t.Errorf("%s written %d times, want once", k, len(got[k]))
		}
	}
}

// TestWriterFallsBackToKafkasDefaultLimit: without the right to read the
// topic's config, the writer assumes Kafka's default max.message.bytes
// (1048588) rather than failing or assuming more.
func TestWriterFallsBackToKafkasDefaultLimit(t *testing.T) {
	t.Parallel()
	c := startDLQ(t, 3_000_000)
	c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.DescribeConfigs}, Err: kerr.TopicAuthorizationFailed, Count: -1})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := newWriter(t, c).Write(ctx, []change.Message{deadLetter("big", pattern(2_000_000))}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	m := readBack(t, c)["big"]
	if len(m) != 1 {
		t.Fatalf("%d records, want 1", len(m))
	}
	if size, _ := m[0].Header(dlq.HeaderTruncated); string(size) != "2000000" || len(m[0].Value) >= 1048588 {
		t.Errorf("header %q, value %d bytes; want it cut under Kafka's default limit", size, len(m[0].Value))
	}
}

// TestWriterFollowsALoweredLimit: the limit is read once, but a topic's
// max.message.bytes may be lowered while attrsync runs. A record the broker
// then refuses as too large is fitted to the new limit, not retried as is.
func TestWriterFollowsALoweredLimit(t *testing.T) {
	t.Parallel()
	c := startDLQ(t, 100_000)
	w := newWriter(t, c)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := w.Write(ctx, []change.Message{deadLetter("first", []byte("x"))}); err != nil {
		t.Fatal(err)
	}
	client := &kafkago.Client{Addr: kafkago.TCP(c.ListenAddrs()...)}
	res, err := client.AlterConfigs(ctx, &kafkago.AlterConfigsRequest{Resources: []kafkago.AlterConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: dlqTopic,
		Configs: []kafkago.AlterConfigRequestConfig{{Name: "max.message.bytes", Value: "20000"}},
	}}})
	if err == nil {
		for _, e := range res.Errors {
			err = errors.Join(err, e)
		}
	}
	if err != nil {
		t.Fatalf("lower max.message.bytes: %v", err)
	}
	if err := w.Write(ctx, []change.Message{deadLetter("second", pattern(50_000))}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	m := readBack(t, c)["second"]
	if len(m) != 1 {
		t.Fatalf("%d records, want 1", len(m))
	}
	if size, _ := m[0].Header(dlq.HeaderTruncated); string(size) != "50000" || len(m[0].Value) >= 20_000 {
		t.Errorf("header %q, value %d bytes; want it cut under the new limit", size, len(m[0].Value))
	}
}
