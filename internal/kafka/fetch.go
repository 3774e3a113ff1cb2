package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	kafkago "github.com/segmentio/kafka-go"
)

// Fetch reads one partition from claim.Offset until ctx ends, handing each
// message to deliver in partition order. deliver blocks to apply
// backpressure; when it returns false, Fetch stops. kafka-go retries
// transient broker errors itself; Fetch returns nil when ctx ends.
func Fetch(ctx context.Context, conn *Conn, claim Claim, deliver func(change.Message) bool) error {
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers:   conn.Brokers,
		Dialer:    conn.dialer(),
		Topic:     claim.Topic,
		Partition: claim.Partition,
		MinBytes:  1,
		MaxBytes:  16 << 20,
		MaxWait:   250 * time.Millisecond, // how long one fetch waits for new data
	})
	defer r.Close()
	if err := r.SetOffset(claim.Offset); err != nil {
		return fmt.Errorf("kafka: %s/%d: set offset %d: %w", claim.Topic, claim.Partition, claim.Offset, err)
	}
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("kafka: fetch %s/%d: %w", claim.Topic, claim.Partition, err)
		}
		if !deliver(fromKafka(m)) {
			return nil
		}
	}
}

func fromKafka(m kafkago.Message) change.Message {
	msg := change.Message{
		Pos:           change.Position{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset},
		Key:           m.Key,
		Value:         m.Value,
		Time:          m.Time,
		HighWaterMark: m.HighWaterMark,
	}
	if len(m.Headers) > 0 {
		msg.Headers = make([]change.Header, len(m.Headers))
		for i, h := range m.Headers {
			msg.Headers[i] = change.Header{Key: h.Key, Value: h.Value}
		}
	}
	return msg
}

func toKafka(m change.Message) kafkago.Message {
	km := kafkago.Message{Key: m.Key, Value: m.Value, Time: m.Time}
	if len(m.Headers) > 0 {
		km.Headers = make([]kafkago.Header, len(m.Headers))
		for i, h := range m.Headers {
			km.Headers[i] = kafkago.Header{Key: h.Key, Value: h.Value}
		}
	}
	return km
}
