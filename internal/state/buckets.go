package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// bucketsKeyOf is where a sync's bucket bits are stored: <base>:buckets.
func bucketsKeyOf(base string) string { return base + ":buckets" }

// bucketBitsOf returns how many bucket bits the sync whose keys start with
// base has, choosing and storing them if none are stored: legacyBucketBits
// when the sync has entries in the layout of versions that did not store
// them, newBucketBits when its state is new. Two processes choosing at once
// both take the first choice stored.
//
// Versions before the number was stored read only legacyBucketBits: on a
// sync started by this one they find no state (as after `attrsync state
// reset`), so they must not run beside it.
func bucketBitsOf(ctx context.Context, rdb redis.UniversalClient, base string) (uint8, error) {
	key := bucketsKeyOf(base)
	v, err := rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		bits := uint8(newBucketBits)
		legacy, lerr := hasLegacyEntries(ctx, rdb, base)
		if lerr != nil {
			return 0, lerr
		}
		if legacy {
			bits = legacyBucketBits
		}
		if err := rdb.SetNX(ctx, key, bits, 0).Err(); err != nil {
			return 0, fmt.Errorf("state: record the sync's bucket count: %w", err)
		}
		v, err = rdb.Get(ctx, key).Result()
	}
	if err != nil {
		return 0, fmt.Errorf("state: read the sync's bucket count: %w", err)
	}
	return parseBucketBits(v)
}

// parseBucketBits reads a stored bucket count, refusing one this version
// does not lay entries out in.
func parseBucketBits(v string) (uint8, error) {
	if n, err := strconv.Atoi(v); err == nil && (n == legacyBucketBits || n == newBucketBits) {
		return uint8(n), nil
	}
	return 0, fmt.Errorf("state: the sync's state is laid out in 2^%q bucket hashes, which this version of attrsync cannot read (was it written by a newer one?)", v)
}

// hasLegacyEntries reports whether any bucket hash of the legacy layout
// exists in one of the spaces (records, existence set, row index), in one
// pipelined round trip. Only a sync with no stored bucket count is asked,
// and such a sync was written by a version that knew no other layout.
func hasLegacyEntries(ctx context.Context, rdb redis.UniversalClient, base string) (bool, error) {
	pipe := rdb.Pipeline()
	var cmds []*redis.IntCmd
	for _, space := range []byte{spaceRecords, spaceExistence, spaceRows} {
		for b := range uint32(1 << legacyBucketBits) {
			cmds = append(cmds, pipe.Exists(ctx, bucketKey(base, space, b)))
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("state: look for state of an earlier version: %w", err)
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}
