package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
)

// Fetch sizes. A partition's fetch brings at most fetchPartitionBytes (a
// larger record still comes whole: brokers return the first batch even when
// it exceeds the limit), so what a fetcher holds between two fetches is
// bounded and small next to the held-message budget.
const (
	fetchPartitionBytes = 1 << 20
	fetchMaxWait        = 250 * time.Millisecond
	// fetchBackoffMax caps the wait between failed fetches (a broker
	// restarting, a leader moving).
	fetchBackoffMax = 2 * time.Second
	// fetchMetadataTTL is how stale the fetcher's view of partition leaders
	// may get; after a leader moves, fetches fail until it is refreshed.
	fetchMetadataTTL = 2 * time.Second
)

// fetcher reads one partition in the read_committed isolation level.
//
// It speaks Kafka's fetch protocol itself (through kafka-go's protocol
// transport) rather than using kafka-go's Reader, because the Reader hands
// out control records (transaction markers) as ordinary messages and never
// drops the records of aborted transactions; a sync fed by a transactional
// producer (Debezium's exactly-once mode) would dead-letter the markers and
// send aborted values to Iterable. Each fetcher has its own transport, so
// its connection is its own: Kafka answers the requests of one connection
// in order, and a long-polling fetch must not hold up another partition's.
type fetcher struct {
	conn      *Conn
	transport *kafkago.Transport
	topic     string
	partition int
	log       *slog.Logger
}

func newFetcher(conn *Conn, topic string, partition int, log *slog.Logger) *fetcher {
	t := conn.transport()
	t.MetadataTTL = fetchMetadataTTL
	return &fetcher{conn: conn, transport: t, topic: topic, partition: partition, log: log}
}

// fetchSink receives what a fetcher reads, in partition order.
type fetchSink interface {
	// deliver hands over one record; false stops the fetcher.
	deliver(m change.Message) bool
	// skip says that the record at offset will never be delivered: a
	// transaction marker or a record of an aborted transaction.
	skip(offset int64)
}

// run fetches from offset until ctx ends, the sink refuses a record, or the
// partition's position reaches end (when end ≥ 0). A negative offset is
// kafka-go's FirstOffset or LastOffset placeholder. Transient broker errors
// are retried with backoff; an authentication failure is returned.
//
// It fetches one response ahead: while the records of one response are
// handed to the sink (which waits whenever the held-message budget is
// full), the next is already on its way, so the partition's round trips
// to the broker overlap the pipeline's work instead of adding to it. The
// response fetched ahead is held outside the budget: at most two responses
// (≤ fetchPartitionBytes each) per partition.
func (f *fetcher) run(ctx context.Context, offset, end int64, sink fetchSink) error {
	if end >= 0 {
		sink = boundedSink{fetchSink: sink, end: end}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ahead := make(chan *chunk)
	// Replayed chunks go back to be filled again: growing a new one for
	// every response cost about a tenth of the bytes allocated per event.
	replayed := make(chan *chunk, 1)
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(ahead)
		err = f.fetchAhead(ctx, offset, end, ahead, replayed)
	}()
	for c := range ahead {
		if !c.replay(sink) {
			cancel()
			break
		}
		c.recs = c.recs[:0]
		select {
		case replayed <- c:
		default:
		}
	}
	<-done
	return err
}

// fetchAhead fetches from offset until ctx ends or the partition's position
// reaches end (when end ≥ 0), and sends the records of each response, in
// order, to ahead, in a chunk taken from replayed when one is there.
func (f *fetcher) fetchAhead(ctx context.Context, offset, end int64, ahead chan<- *chunk, replayed <-chan *chunk) error {
	defer f.transport.CloseIdleConnections()
	var err error
	if offset, err = f.resolve(ctx, offset); err != nil {
		return err
	}
	failures := 0
	var c *chunk // to fill; kept while responses bring nothing
	for ctx.Err() == nil && (end < 0 || offset < end) {
		p, err := f.fetch(ctx, offset)
		if err == nil {
			err = errorOf(p.ErrorCode)
		}
		switch {
		case err == nil:
			failures = 0
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, kafkago.SASLAuthenticationFailed):
			return fmt.Errorf("kafka: fetch %s/%d: %w", f.topic, f.partition, f.conn.explain(err))
		case errors.Is(err, kafkago.OffsetOutOfRange):
			// Retention deleted what the committed offset points at: those
			// messages are gone for every consumer. Go on from the oldest
			// one left, and say so.
			next, rerr := f.resolve(ctx, kafkago.FirstOffset)
			if rerr != nil {
				return rerr
			}
			f.log.Warn("kafka: offset out of range (deleted by retention); going on from the oldest retained message",
				"topic", f.topic, "partition", f.partition, "offset", offset, "oldest", next)
			offset = next
			continue
		default:
			failures++
			level := slog.LevelDebug
			if failures%10 == 0 {
				level = slog.LevelWarn
			}
			f.log.Log(ctx, level, "kafka: fetch failed, retrying", "topic", f.topic, "partition", f.partition, "failures", failures, "err", err)
			if sleep(ctx, min(time.Duration(failures)*100*time.Millisecond, fetchBackoffMax)) != nil {
				return nil
			}
			continue
		}
		if c == nil {
			select {
			case c = <-replayed:
			default:
				c = &chunk{}
			}
		}
		offset, err = f.read(p, offset, c)
		if len(c.recs) > 0 {
			select {
			case ahead <- c:
				c = nil
			case <-ctx.Done():
				return nil
			}
		}
		if err != nil {
			// A batch that does not decode is fetched again after a pause;
			// if it never does, the warning repeats and nothing is skipped.
			failures++
			f.log.Warn("kafka: fetched records do not decode, retrying", "topic", f.topic, "partition", f.partition, "offset", offset, "err", err)
			if sleep(ctx, min(time.Duration(failures)*100*time.Millisecond, fetchBackoffMax)) != nil {
				return nil
			}
		}
	}
	return nil
}

// chunk is what one fetch response held, copied out of the fetch buffer,
// in order, to be replayed into the sink while the next response is
// fetched. Replaying it clears each message it hands over, so a chunk
// given back to be filled again holds nothing of them.
type chunk struct {
	recs []fetched
}

// fetched is one record of a chunk: a message to deliver, or the offset of
// a record to skip.
type fetched struct {
	msg  change.Message
	skip bool
}

func (c *chunk) deliver(m change.Message) {
	c.recs = append(c.recs, fetched{msg: m})
}

func (c *chunk) skip(offset int64) {
	c.recs = append(c.recs, fetched{msg: change.Message{Pos: change.Position{Offset: offset}}, skip: true})
}

// replay hands the chunk's records to sink in order; false when sink
// stopped.
func (c *chunk) replay(sink fetchSink) bool {
	for i := range c.recs {
		r := &c.recs[i]
		if r.skip {
			sink.skip(r.msg.Pos.Offset)
			continue
		}
		if !sink.deliver(r.msg) {
			return false
		}
		r.msg = change.Message{} // handed over: its bytes count against the budget now
	}
	return true
}

// boundedSink ends a read at end: a fetch response may reach past it.
type boundedSink struct {
	fetchSink
	end int64
}

func (b boundedSink) deliver(m change.Message) bool {
	return m.Pos.Offset < b.end && b.fetchSink.deliver(m)
}

func (b boundedSink) skip(offset int64) {
	if offset < b.end {
		b.fetchSink.skip(offset)
	}
}

// fetch sends one fetch request for the partition at offset.
func (f *fetcher) fetch(ctx context.Context, offset int64) (*fetchapi.ResponsePartition, error) {
	req := &fetchapi.Request{
		ReplicaID:      -1,
		MaxWaitTime:    int32(fetchMaxWait.Milliseconds()),
		MinBytes:       1,
		MaxBytes:       fetchPartitionBytes,
		IsolationLevel: 1, // read_committed
		SessionID:      -1,
		SessionEpoch:   -1,
		Topics: []fetchapi.RequestTopic{{
			Topic: f.topic,
			Partitions: []fetchapi.RequestPartition{{
				Partition:          int32(f.partition),
				CurrentLeaderEpoch: -1,
				FetchOffset:        offset,
				LogStartOffset:     -1,
				PartitionMaxBytes:  fetchPartitionBytes,
			}},
		}},
	}
	rctx, cancel := context.WithTimeout(ctx, fetchMaxWait+30*time.Second)
	defer cancel()
	m, err := f.transport.RoundTrip(rctx, kafkago.TCP(f.conn.Brokers...), req)
	if err != nil {
		return nil, err
	}
	res, ok := m.(*fetchapi.Response)
	if !ok || len(res.Topics) == 0 || len(res.Topics[0].Partitions) == 0 {
		return nil, errors.New("fetch response names no partition")
	}
	if res.ErrorCode != 0 {
		return nil, kafkago.Error(res.ErrorCode)
	}
	return &res.Topics[0].Partitions[0], nil
}

// read copies the records of one fetch response into c and returns the
// next offset to fetch. Records of aborted transactions and control batches
// are kept as skips, as a read_committed consumer must: the broker reports
// which producers aborted from which offset, and a producer's marker ends
// that span. It fails with a decoding error, c then holding the records
// before it.
func (f *fetcher) read(p *fetchapi.ResponsePartition, offset int64, c *chunk) (int64, error) {
	if p.RecordSet.Records == nil {
		return offset, nil
	}
	aborts := newAbortSpans(p.AbortedTransactions)
	skip := func(r *protocol.Record) { c.skip(r.Offset) }
	deliver := func(r *protocol.Record) { c.deliver(f.message(r, p.HighWatermark)) }
	var err error
	for _, batch := range batchesOf(p.RecordSet.Records) {
		switch b := batch.(type) {
		case *protocol.ControlBatch:
			aborts.ended(b.ProducerID)
			offset, err = eachRecord(b.Records, offset, skip)
		case *protocol.RecordBatch:
			if b.Attributes.Transactional() && aborts.aborted(b.ProducerID, b.BaseOffset) {
				offset, err = eachRecord(b.Records, offset, skip)
			} else {
				offset, err = eachRecord(b.Records, offset, deliver)
			}
		default:
			offset, err = eachRecord(b, offset, deliver)
		}
		if err != nil {
			return offset, err
		}
	}
	return offset, nil
}

// batchesOf lists the record batches of a fetch response in order.
func batchesOf(r protocol.RecordReader) []protocol.RecordReader {
	if s, ok := r.(*protocol.RecordStream); ok {
		return s.Records
	}
	return []protocol.RecordReader{r}
}

// eachRecord calls fn for each record of r at or after offset (a batch may
// start before the offset asked for) and returns the offset after the last
// one. Every record's key and value are released, whatever fn did with them.
// It fails with the batch's decoding error.
func eachRecord(r protocol.RecordReader, offset int64, fn func(*protocol.Record)) (int64, error) {
	for {
		rec, err := r.ReadRecord()
		if errors.Is(err, io.EOF) {
			return offset, nil
		}
		if err != nil {
			return offset, fmt.Errorf("decode record batch at offset %d: %w", offset, err)
		}
		if rec.Offset >= offset {
			fn(rec)
			offset = rec.Offset + 1
		}
		closeBytes(rec.Key)
		closeBytes(rec.Value)
	}
}

func closeBytes(b protocol.Bytes) {
	if b != nil {
		_ = b.Close()
	}
}

// message copies a record out of the fetch buffer, which is reused.
func (f *fetcher) message(r *protocol.Record, highWaterMark int64) change.Message {
	key, value := readKeyValue(r.Key, r.Value)
	m := change.Message{
		Pos:           change.Position{Topic: f.topic, Partition: f.partition, Offset: r.Offset},
		Key:           key,
		Value:         value,
		Time:          r.Time,
		HighWaterMark: highWaterMark,
	}
	if len(r.Headers) > 0 {
		m.Headers = make([]change.Header, len(r.Headers))
		for i, h := range r.Headers {
			m.Headers[i] = change.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)}
		}
	}
	return m
}

// readKeyValue copies a record's key and value out of the fetch response
// into one allocation, which they share for as long as the message lives
// anyway; each is capped at its length, so an append to one cannot reach
// the other. nil stays nil (a tombstone has a nil value); a payload that
// cannot be read reads as empty.
func readKeyValue(k, v protocol.Bytes) (key, value []byte) {
	kn, vn := 0, 0
	if k != nil {
		kn = k.Len()
	}
	if v != nil {
		vn = v.Len()
	}
	buf := make([]byte, kn+vn)
	return readInto(k, buf[:kn:kn]), readInto(v, buf[kn:])
}

// readInto fills dst, sized to b's length, from b.
func readInto(b protocol.Bytes, dst []byte) []byte {
	if b == nil {
		return nil
	}
	if _, err := io.ReadFull(b, dst); err != nil {
		return []byte{}
	}
	return dst
}

// resolve turns kafka-go's FirstOffset and LastOffset placeholders into the
// partition's current first or end offset.
func (f *fetcher) resolve(ctx context.Context, offset int64) (int64, error) {
	if offset >= 0 {
		return offset, nil
	}
	client := &kafkago.Client{Addr: kafkago.TCP(f.conn.Brokers...), Transport: f.transport, Timeout: 30 * time.Second}
	for failures := 1; ; failures++ {
		res, err := client.ListOffsets(ctx, &kafkago.ListOffsetsRequest{
			Topics:         map[string][]kafkago.OffsetRequest{f.topic: {{Partition: f.partition, Timestamp: offset}}},
			IsolationLevel: kafkago.ReadCommitted,
		})
		if err == nil {
			for _, po := range res.Topics[f.topic] {
				switch {
				case po.Partition != f.partition:
				case po.Error != nil:
					err = po.Error
				case offset == kafkago.FirstOffset:
					return po.FirstOffset, nil
				default:
					return po.LastOffset, nil
				}
			}
			if err == nil {
				err = errors.New("no offsets in the answer")
			}
		}
		if errors.Is(err, kafkago.SASLAuthenticationFailed) {
			return 0, fmt.Errorf("kafka: list offsets of %s/%d: %w", f.topic, f.partition, f.conn.explain(err))
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		f.log.Debug("kafka: list offsets failed, retrying", "topic", f.topic, "partition", f.partition, "err", err)
		if err := sleep(ctx, min(time.Duration(failures)*100*time.Millisecond, fetchBackoffMax)); err != nil {
			return 0, err
		}
	}
}

// errorOf is the error of a Kafka error code, nil for 0.
func errorOf(code int16) error {
	if code == 0 {
		return nil
	}
	return kafkago.Error(code)
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
