package pipeline

import (
	"context"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/kafka"
)

// Replay makes one pass over ranges (from kafka.Ranges) through the
// pipeline and returns when every message in them is finished. It belongs
// to no consumer group and commits no offset, so the live sync is
// untouched. Messages at or before what a user's state reflects are skipped
// as stale, so replaying what was synced sends nothing. force re-sends
// every mapped attribute, changed or not (to backfill a new attribute or
// repair a profile), starting from each user's newest synced message:
// older messages are still skipped, so no older value reaches Iterable.
//
// Replaying the dead-letter topic works the same way: each record is judged
// stale by the original position in its headers, and records that fail
// again are dead-lettered once more, after the ranges' end, so they are
// not read again in the same pass.
func (p *Pipeline) Replay(ctx context.Context, conn *kafka.Conn, ranges []kafka.Range, force bool) error {
	claims := make([]kafka.Claim, len(ranges))
	byClaim := make(map[kafka.Claim]kafka.Range, len(ranges))
	for i, r := range ranges {
		claims[i] = kafka.Claim{Topic: r.Topic, Partition: r.Partition, Offset: r.Start}
		byClaim[claims[i]] = r
	}
	return p.runSession(ctx, sessionOpts{
		claims: claims,
		fetch: func(ctx context.Context, c kafka.Claim, deliver func(change.Message) bool) error {
			return kafka.FetchRange(ctx, conn, byClaim[c], deliver)
		},
		commit:  func(map[string]map[int]int64) error { return nil },
		force:   force,
		bounded: true,
	})
}
