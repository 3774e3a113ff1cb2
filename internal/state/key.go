package state

import (
	"encoding/binary"
	"strconv"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/cespare/xxhash/v2"
)

// Users are spread over 2^bits bucket hashes per space; bits is chosen
// when a sync's state is first written and stored with it (buckets.go),
// since it decides where every user's entries live. Redis finds a field in
// a listpack-encoded hash by walking it, so its CPU per read grows with the
// users per bucket, and each bucket hash costs about 145 bytes of its own:
// at 1,000,000 users, 2^12 buckets took 2.4 to 5.3 µs of Redis CPU a read
// at 122.0 bytes a user, 2^14 1.1 to 2.8 µs at 124.6 (BenchmarkLoad, runs
// alternated).
const (
	// legacyBucketBits is what syncs written before the number was stored
	// use, and keep.
	legacyBucketBits = 12
	// newBucketBits is what a sync whose state is new gets.
	newBucketBits = 14
)

// The spaces of keys: each is its own set of bucket hashes,
// <prefix>:<sync>:<space>:<bucket>.
const (
	spaceRecords   = 's' // per-user records
	spaceExistence = 'e' // the existence set (exists.go)
	spaceRows      = 'k' // the row index (rows.go)
)

// userKey addresses one entry: a field in a bucket hash of a space. The
// bucket is the top bits of hash, as many as the sync's layout has.
type userKey struct {
	space byte
	hash  uint32
	field [8]byte
}

// keyOf hashes an identifier. The field is a 64-bit xxhash and the bucket
// comes from an independent 32-bit FNV-1a, so two users share a record only if both
// hashes collide (about 2^-78 per pair).
func keyOf(id change.Identifier) userKey {
	k := userKey{space: spaceRecords}
	binary.BigEndian.PutUint64(k.field[:], sum64("", byte(id.Kind), id.Value))
	h := uint32(2166136261)
	h = (h ^ uint32(id.Kind)) * 16777619
	for i := 0; i < len(id.Value); i++ {
		h = (h ^ uint32(id.Value[i])) * 16777619
	}
	k.hash = h
	return k
}

// bucket is k's bucket among 2^bits.
func (k userKey) bucket(bits uint8) uint32 { return k.hash >> (32 - bits) }

// redisKey is the Redis key of k's bucket hash in the sync whose keys start
// with base (<prefix>:<sync>) and which has 2^bits buckets:
// <base>:<space>:<bucket>.
func (k userKey) redisKey(base string, bits uint8) string {
	return bucketKey(base, k.space, k.bucket(bits))
}

// bucketKey is the Redis key of one bucket hash of a space.
func bucketKey(base string, space byte, bucket uint32) string {
	return string(appendBucketKey(make([]byte, 0, len(base)+8), base, space, bucket))
}

// appendBucketKey appends bucketKey's result to b.
func appendBucketKey(b []byte, base string, space byte, bucket uint32) []byte {
	b = append(b, base...)
	b = append(b, ':', space, ':')
	return strconv.AppendUint(b, uint64(bucket), 10)
}

// in is the key of the same user in another space.
func (k userKey) in(space byte) userKey {
	k.space = space
	return k
}

// topicHash identifies a topic inside a record.
func topicHash(topic string) uint32 {
	return uint32(xxhash.Sum64String(topic))
}
