package state

import (
	"encoding/binary"
	"strconv"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/cespare/xxhash/v2"
)

// bucketBits sets the number of bucket hashes (2^12). With the listpack
// limits in the README (1024 entries), buckets stay compact up to about four
// million users per sync; fewer buckets would make each HGET scan a longer
// listpack. The number is part of the stored layout and must not change.
const bucketBits = 12

// The spaces of keys: each is its own set of bucket hashes,
// <prefix>:<sync>:<space>:<bucket>.
const (
	spaceRecords   = 's' // per-user records
	spaceExistence = 'e' // the existence set (exists.go)
	spaceRows      = 'k' // the row index (rows.go)
)

// userKey addresses one entry: a bucket hash of a space and a field in it.
type userKey struct {
	space  byte
	bucket uint32
	field  [8]byte
}

// keyOf hashes an identifier. The field is a 64-bit xxhash and the bucket an
// independent 32-bit FNV-1a, so two users share a record only if both
// hashes collide (about 2^-78 per pair).
func keyOf(id change.Identifier) userKey {
	k := userKey{space: spaceRecords}
	d := xxhash.New()
	_, _ = d.Write([]byte{byte(id.Kind)})
	_, _ = d.WriteString(id.Value)
	binary.BigEndian.PutUint64(k.field[:], d.Sum64())
	h := uint32(2166136261)
	h = (h ^ uint32(id.Kind)) * 16777619
	for i := 0; i < len(id.Value); i++ {
		h = (h ^ uint32(id.Value[i])) * 16777619
	}
	k.bucket = h >> (32 - bucketBits)
	return k
}

// redisKey is the Redis key of k's bucket hash in the sync whose keys start
// with base (<prefix>:<sync>): <base>:<space>:<bucket>.
func (k userKey) redisKey(base string) string {
	return string(k.appendRedisKey(make([]byte, 0, len(base)+8), base))
}

// appendRedisKey appends k's redisKey to b.
func (k userKey) appendRedisKey(b []byte, base string) []byte {
	b = append(b, base...)
	b = append(b, ':', k.space, ':')
	return strconv.AppendUint(b, uint64(k.bucket), 10)
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
