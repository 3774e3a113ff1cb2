package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	// Read committed: the end of a partition is its last stable offset, so
	// a range never waits on a transaction still open when it was listed.
	req := &kafkago.ListOffsetsRequest{Topics: map[string][]kafkago.OffsetRequest{}, IsolationLevel: kafkago.ReadCommitted}
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

// ReadConfig configures a read without group membership: replays, dead-letter
// replays and dry runs.
type ReadConfig struct {
	// ShutdownGrace is how long work may take to finish once ctx ends.
	ShutdownGrace time.Duration
	// MaxHeldBytes bounds the fetched but unfinished messages; ≤ 0: none.
	MaxHeldBytes int64
	Logger       *slog.Logger
}

// ReadRanges runs one session over ranges and returns once every message in
// them is finished (or ctx ended and the work drained within the grace).
// It belongs to no consumer group and commits nothing.
func ReadRanges(ctx context.Context, conn *Conn, ranges []Range, cfg ReadConfig, start StartFunc) error {
	s := cfg.session(conn, start)
	s.ends = map[Claim]int64{}
	for _, r := range ranges {
		if r.Start >= r.End {
			continue
		}
		c := Claim{Topic: r.Topic, Partition: r.Partition, Offset: r.Start}
		s.claims = append(s.claims, c)
		s.ends[c] = r.End
	}
	return s.run(ctx)
}

// Read runs one session over claims until ctx ends, without group
// membership and without committing: a dry run reads the group's position
// (see GroupOffsets) this way, and leaves the group's members untouched.
func Read(ctx context.Context, conn *Conn, claims []Claim, cfg ReadConfig, start StartFunc) error {
	s := cfg.session(conn, start)
	s.claims = claims
	return s.run(ctx)
}

func (c ReadConfig) session(conn *Conn, start StartFunc) *session {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	return &session{
		conn: conn, start: start, budget: newBudget(c.MaxHeldBytes), log: log,
		drain: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), c.ShutdownGrace)
		},
	}
}

// ReadRange calls fn for each message of r, in order, until fn returns
// false or the range is read; for tools that only look (dlq inspect).
func ReadRange(ctx context.Context, conn *Conn, r Range, fn func(change.Message) bool) error {
	if r.Start >= r.End {
		return nil
	}
	f := newFetcher(conn, r.Topic, r.Partition, slog.Default())
	return f.run(ctx, r.Start, r.End, looker(fn))
}

// looker is a fetchSink that only looks at records.
type looker func(change.Message) bool

func (l looker) deliver(m change.Message) bool { return l(m) }
func (l looker) skip(int64)                    {}

// GroupOffsets returns a claim for every partition of topics at the
// group's committed offset, or at startOffset's placeholder (earliest or
// latest) where the group has none, without joining the group.
func GroupOffsets(ctx context.Context, conn *Conn, group string, topics []string, startOffset StartOffset) ([]Claim, error) {
	parts, err := Partitions(ctx, conn, topics)
	if err != nil {
		return nil, err
	}
	req := &kafkago.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{}}
	for _, t := range topics {
		for p := range parts[t] {
			req.Topics[t] = append(req.Topics[t], p)
		}
	}
	client := &kafkago.Client{Addr: kafkago.TCP(conn.Brokers...), Transport: conn.transport(), Timeout: 30 * time.Second}
	res, err := client.OffsetFetch(ctx, req)
	if err == nil {
		err = res.Error
	}
	if errors.Is(err, kafkago.GroupIdNotFound) {
		// Some brokers answer so for a group that never committed; others
		// list no offset. Either way, every partition starts per startOffset.
		res, err = &kafkago.OffsetFetchResponse{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kafka: committed offsets of group %s: %w", group, conn.explain(err))
	}
	placeholder := kafkago.FirstOffset
	if startOffset == StartLatest {
		placeholder = kafkago.LastOffset
	}
	var claims []Claim
	for _, t := range topics {
		committed := map[int]int64{}
		for _, p := range res.Topics[t] {
			if p.Error != nil {
				return nil, fmt.Errorf("kafka: committed offset of %s/%d: %w", t, p.Partition, p.Error)
			}
			committed[p.Partition] = p.CommittedOffset
		}
		for p := range parts[t] {
			off, ok := committed[p]
			if !ok || off < 0 {
				off = placeholder
			}
			claims = append(claims, Claim{Topic: t, Partition: p, Offset: off})
		}
	}
	return claims, nil
}
