package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/cenkalti/backoff/v4"
	kafkago "github.com/segmentio/kafka-go"
)

// Writer appends records to one topic (the dead-letter topic), waiting for
// all in-sync replicas, so a record is durable before the offset of the
// message it stands for is committed. Calls to Write are serialised.
type Writer struct {
	conn  *Conn
	topic string
	log   *slog.Logger

	mu        sync.Mutex // one Write at a time; guards the fields below and w's sizing
	limit     int        // the largest record batch the topic takes; 0 until known
	limitRead bool       // limit is the topic's, or it may not be read: done
	w         *kafkago.Writer
}

// Sizes of the dead-letter topic.
const (
	// maxRecordBytes is the largest dead letter the writer sends, whatever
	// the topic would take.
	maxRecordBytes = 16 << 20
	// defaultMaxMessageBytes is Kafka's default max.message.bytes, assumed
	// when the topic's own setting cannot be read (no DescribeConfigs ACL).
	defaultMaxMessageBytes = 1048588
	// batchHeader is the size of a record batch's header, which the broker
	// counts against max.message.bytes and kafka-go's batch sizes do not.
	batchHeader = 61
	// recordSlack is how far one record's real encoding may exceed
	// kafka-go's estimate of it (Message.totalSize: 22 bytes besides key,
	// value and headers). The encoding spends at most 4+1+10+2+4+4 = 25:
	// the length, attributes, a timestamp delta between dead letters of old
	// and new messages (up to 10), the offset delta (a batch holds at most
	// 100 records) and the key and value lengths (records under 128 MiB).
	recordSlack = 3
)

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithLogger receives a warning for every failed write attempt that Write
// retries (Kafka's errors name topics and partitions, never record data).
func WithLogger(l *slog.Logger) WriterOption {
	return func(w *Writer) { w.log = l }
}

// NewWriter returns a writer to topic.
func NewWriter(conn *Conn, topic string, opts ...WriterOption) *Writer {
	w := &Writer{conn: conn, topic: topic, log: slog.Default()}
	for _, opt := range opts {
		opt(w)
	}
	w.w = &kafkago.Writer{
		Addr:         kafkago.TCP(conn.Brokers...),
		Topic:        topic,
		Transport:    conn.transport(),
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchTimeout: 5 * time.Millisecond,
		BatchSize:    100, // what recordSlack assumes
		MaxAttempts:  10,
	}
	return w
}

// Write appends msgs (their Pos is ignored) and returns nil once every one
// is acknowledged, each written once by this call.
//
// When the broker refuses some records of a call (kafka-go's WriteErrors),
// only those are sent again, with backoff, for as long as it takes: a
// partial failure never duplicates what was already written. A record
// larger than the topic takes (its max.message.bytes, read once, or
// Kafka's default when it cannot be read; at most 16 MiB) is written
// truncated: its value cut to fit and header attrsync.errors.truncated set
// to the original value's size, so one oversized dead letter never blocks
// the others. Write returns an error only when ctx ends; some records may
// then have been written, and the caller must count none as written.
func (w *Writer) Write(ctx context.Context, msgs []change.Message) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.limitRead {
		limit, final := w.readLimit(ctx)
		w.setLimit(limit)
		w.limitRead = final
	}
	pending := make([]kafkago.Message, len(msgs))
	for i, m := range msgs {
		pending[i] = toKafka(m)
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 100*time.Millisecond, 5*time.Second, 0
	b.Reset()
	oneByOne := false
	for {
		for i := range pending {
			pending[i] = fitRecord(pending[i], w.w.BatchBytes)
		}
		failed, tooLarge, err := w.attempt(ctx, pending, oneByOne)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("kafka: write %d records to %s: %w", len(pending), w.topic, ctx.Err())
		}
		if tooLarge {
			// Fitted records may still fill a batch a few bytes past the
			// limit (recordSlack each): alone, each fits. A record refused
			// alone means the limit is lower than the writer thinks.
			if oneByOne || len(pending) == 1 {
				w.shrink(ctx)
			}
			oneByOne = true
		}
		w.log.Warn("kafka: dead-letter write failed; retrying the records not written",
			"topic", w.topic, "failed", len(failed), "of", len(pending), "err", err)
		pending = failed
		if err := sleep(ctx, b.NextBackOff()); err != nil {
			return fmt.Errorf("kafka: write %d records to %s: %w", len(pending), w.topic, err)
		}
	}
}

// attempt writes recs in one call, or in one call per record, and returns
// the records not written (all of them when the failure says nothing per
// record), whether the broker or kafka-go found one too large, and the error.
func (w *Writer) attempt(ctx context.Context, recs []kafkago.Message, oneByOne bool) ([]kafkago.Message, bool, error) {
	if !oneByOne {
		return notWritten(recs, w.w.WriteMessages(ctx, recs...))
	}
	var (
		failed   []kafkago.Message
		tooLarge bool
		last     error
	)
	for i, r := range recs {
		f, large, err := notWritten(recs[i:i+1], w.w.WriteMessages(ctx, r))
		failed, tooLarge = append(failed, f...), tooLarge || large
		if err != nil {
			last = err
		}
		if ctx.Err() != nil {
			return append(failed, recs[i+1:]...), tooLarge, ctx.Err()
		}
	}
	return failed, tooLarge, last
}

// notWritten reads the outcome of one WriteMessages call of recs.
func notWritten(recs []kafkago.Message, err error) ([]kafkago.Message, bool, error) {
	if err == nil {
		return nil, false, nil
	}
	werrs, ok := errors.AsType[kafkago.WriteErrors](err)
	if !ok {
		return recs, refusedAsTooLarge(err), err
	}
	var failed []kafkago.Message
	tooLarge := false
	for i, e := range werrs {
		if e != nil {
			failed = append(failed, recs[i])
			tooLarge = tooLarge || refusedAsTooLarge(e)
		}
	}
	return failed, tooLarge, err
}

// readLimit reads the topic's max.message.bytes. When it cannot, it returns
// Kafka's default, final only when the cluster refused the right to read
// it: after any other failure the next Write asks again.
func (w *Writer) readLimit(ctx context.Context) (limit int, final bool) {
	client := &kafkago.Client{Addr: kafkago.TCP(w.conn.Brokers...), Transport: w.conn.transport(), Timeout: 10 * time.Second}
	res, err := client.DescribeConfigs(ctx, &kafkago.DescribeConfigsRequest{Resources: []kafkago.DescribeConfigRequestResource{{
		ResourceType: kafkago.ResourceTypeTopic, ResourceName: w.topic, ConfigNames: []string{"max.message.bytes"},
	}}})
	if err == nil {
		for _, r := range res.Resources {
			if r.Error != nil {
				err = r.Error
				continue
			}
			for _, e := range r.ConfigEntries {
				if n, perr := strconv.Atoi(e.ConfigValue); e.ConfigName == "max.message.bytes" && perr == nil && n > 0 {
					return n, true
				}
			}
		}
	}
	w.log.Warn("kafka: cannot read the dead-letter topic's max.message.bytes; assuming Kafka's default",
		"topic", w.topic, "default", defaultMaxMessageBytes, "err", err)
	denied := errors.Is(err, kafkago.TopicAuthorizationFailed) || errors.Is(err, kafkago.ClusterAuthorizationFailed)
	return defaultMaxMessageBytes, denied
}

// setLimit sizes kafka-go's batches so that a batch holding one record,
// header and slack included, stays within limit bytes: what fits alone is
// never truncated.
func (w *Writer) setLimit(limit int) {
	w.limit = min(limit, maxRecordBytes)
	w.w.BatchBytes = int64(w.limit - batchHeader - recordSlack)
}

// shrink reacts to a record the broker found too large although it was
// fitted to the limit: the topic's setting changed, or a broker counts
// differently. The limit is read again and, if that does not lower it,
// cut by a quarter, so the next attempt always fits tighter.
func (w *Writer) shrink(ctx context.Context) {
	limit, _ := w.readLimit(ctx)
	if limit >= w.limit {
		limit = w.limit * 3 / 4
	}
	w.setLimit(limit)
}

func refusedAsTooLarge(err error) bool {
	var mtl kafkago.MessageTooLargeError
	return errors.Is(err, kafkago.MessageSizeTooLarge) || errors.As(err, &mtl)
}

// fitRecord returns m cut to at most max bytes as kafka-go counts them (which
// bounds its real encoding, see recordSlack): the value first, then, if
// key and headers alone are too large, the key and the original headers.
// The failure headers stay, and dlq.HeaderTruncated records the size the
// value had. m's slices are not modified.
func fitRecord(m kafkago.Message, max int64) kafkago.Message {
	if estimatedSize(m) <= max {
		return m
	}
	if _, done := headerOf(m, dlq.HeaderTruncated); !done {
		m.Headers = append(m.Headers[:len(m.Headers):len(m.Headers)],
			kafkago.Header{Key: dlq.HeaderTruncated, Value: strconv.AppendInt(nil, int64(len(m.Value)), 10)})
	}
	over := estimatedSize(m) - max
	if over <= 0 {
		return m
	}
	if over < int64(len(m.Value)) {
		m.Value = m.Value[:int64(len(m.Value))-over]
		return m
	}
	m.Value = m.Value[:0:0] // empty, not null: a null value is a tombstone
	if estimatedSize(m) <= max {
		return m
	}
	m.Key = nil
	kept := make([]kafkago.Header, 0, len(m.Headers))
	for _, h := range m.Headers {
		if strings.HasPrefix(h.Key, "__connect.errors.") || strings.HasPrefix(h.Key, "attrsync.errors.") {
			kept = append(kept, h)
		}
	}
	m.Headers = kept
	return m
}

// estimatedSize is kafka-go's estimate of a message (Message.totalSize): what
// its WriteMessages compares with BatchBytes and adds up into batches.
func estimatedSize(m kafkago.Message) int64 {
	n := 22 + len(m.Key) + len(m.Value) + zigzagLen(len(m.Headers))
	for _, h := range m.Headers {
		n += zigzagLen(len(h.Key)) + len(h.Key) + zigzagLen(len(h.Value)) + len(h.Value)
	}
	return int64(n)
}

// zigzagLen is the length of n as a zig-zag varint.
func zigzagLen(n int) int {
	u := uint64(n) << 1
	l := 1
	for ; u >= 0x80; u >>= 7 {
		l++
	}
	return l
}

func headerOf(m kafkago.Message, key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
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
