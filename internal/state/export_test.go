package state

import (
	"context"

	"github.com/redis/go-redis/v9"
)

// LegacyBucketBits and NewBucketBits are the bucket counts, for tests.
const (
	LegacyBucketBits = legacyBucketBits
	NewBucketBits    = newBucketBits
)

// NewWithBuckets returns the store of a sync as New does, but with its
// entries in 2^bits buckets whatever the sync has recorded. With the
// recorded count deleted after writing, it leaves what a version before the
// count was stored left.
func NewWithBuckets(ctx context.Context, rdb redis.UniversalClient, keyPrefix, syncName string, attrs []string, bits uint8) (*Store, error) {
	return open(ctx, rdb, keyPrefix, syncName, attrs, bits, nil)
}
