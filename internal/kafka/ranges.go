package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	kafkago "github.com/segmentio/kafka-go"
)

// Range is a span of one partition: offsets from Start up to End, exclusive.
type Range struct {
	Topic     string
	Partition int
	Start     int64
	End       int64
}

// Ranges returns, for every partition of topics, the span from the first
// message at or after from (the earliest retained message when from is
// zero) to the end offset now. A replay reads exactly these spans, so
// messages produced after it started are left to the live sync.
func Ranges(ctx context.Context, conn *Conn, topics []string, from time.Time) ([]Range, error) {
	client := &kafkago.Client{Addr: kafkago.TCP(conn.Brokers...), Transport: conn.transport(), Timeout: 30 * time.Second}
	parts, err := Partitions(ctx, conn, topics)
	if err != nil {
		return nil, err
	}
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}}
	for _, t := range topics {
		n, ok := parts[t]
		if !ok {
			return nil, fmt.Errorf("kafka: topic %s does not exist", t)
		}
		for p := range n {
			req.Topics[t] = append(req.Topics[t], kafkago.FirstOffsetOf(p), kafkago.LastOffsetOf(p))
			if !from.IsZero() {
				req.Topics[t] = append(req.Topics[t], kafkago.TimeOffsetOf(p, from))
			}
		}
	}
	res, err := client.ListOffsets(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("kafka: list offsets: %w", conn.explain(err))
	}
	var out []Range
	for _, t := range topics {
		for _, po := range res.Topics[t] {
			if po.Error != nil {
				return nil, fmt.Errorf("kafka: offsets of %s/%d: %w", t, po.Partition, po.Error)
			}
			r := Range{Topic: t, Partition: po.Partition, Start: po.FirstOffset, End: po.LastOffset}
			if !from.IsZero() {
				r.Start = r.End // no message at or after from
				for off := range po.Offsets {
					if off >= 0 {
						r.Start = max(off, po.FirstOffset)
					}
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// FetchRange reads r from Start up to End, then returns.
func FetchRange(ctx context.Context, conn *Conn, r Range, deliver func(change.Message) bool) error {
	if r.Start >= r.End {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return Fetch(ctx, conn, Claim{Topic: r.Topic, Partition: r.Partition, Offset: r.Start}, func(m change.Message) bool {
		if !deliver(m) {
			return false
		}
		if m.Pos.Offset+1 >= r.End {
			cancel()
			return false
		}
		return true
	})
}
