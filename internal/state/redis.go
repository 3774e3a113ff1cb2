package state

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// swapScript is a compare-and-set of one field of one bucket hash: it sets
// KEYS[1][ARGV[1]] to ARGV[3] ("" deletes it) if it holds ARGV[2] (""
// meaning absent) and returns 1, else returns {what it holds}. One key per
// call keeps it within one slot of a Redis Cluster.
const swapScript = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then cur = '' end
if cur ~= ARGV[2] then
  return {cur}
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
end
return 1
`

// redisBackend keeps records in bucket hashes of one Redis (or Cluster).
type redisBackend struct {
	rdb    redis.UniversalClient
	base   string // <prefix>:<sync>
	bits   uint8  // the sync's bucket bits (buckets.go)
	script *redis.Script
	// layoutKey and layoutJSON are this store's layout, re-recorded with
	// every swap when missing, as are its bucket bits.
	layoutKey  string
	layoutJSON []byte
}

func (r *redisBackend) layoutKeyOf(id uint32) string {
	return r.base + ":layout:" + strconv.FormatUint(uint64(id), 16)
}

func (r *redisBackend) get(ctx context.Context, keys []userKey) ([][]byte, error) {
	args := hgetArgs(r.base, r.bits, keys)
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(keys))
	for i := range keys {
		cmds[i] = redis.NewStringCmd(ctx, args[3*i:3*i+3:3*i+3]...)
		_ = pipe.Process(ctx, cmds[i])
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("state: load %d users: %w", len(keys), err)
	}
	out := make([][]byte, len(keys))
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("state: load: %w", err)
		}
		out[i] = b
	}
	return out, nil
}

// hgetArgs returns the arguments of one HGET per key: "hget", &hash,
// &field. They cost a few allocations for all keys together instead of
// five for each, which was most of what reading a candidate's records
// allocated: the strings are slices of one, and go-redis reads a *string
// argument, which an interface holds without allocating, as its string,
// also to route it in a Cluster.
func hgetArgs(base string, bits uint8, keys []userKey) []any {
	ends := make([]int, 0, 2*len(keys))
	b := make([]byte, 0, len(keys)*(len(base)+16))
	for _, k := range keys {
		b = appendBucketKey(b, base, k.space, k.bucket(bits))
		ends = append(ends, len(b))
		b = append(b, k.field[:]...)
		ends = append(ends, len(b))
	}
	all := string(b)
	strs := make([]string, len(ends))
	start := 0
	for i, end := range ends {
		strs[i], start = all[start:end], end
	}
	args := make([]any, 0, 3*len(keys))
	for i := range keys {
		args = append(args, "hget", &strs[2*i], &strs[2*i+1])
	}
	return args
}

func (r *redisBackend) swap(ctx context.Context, keys []userKey, olds, news [][]byte) ([]swapped, error) {
	out := make([]swapped, len(keys))
	todo := make([]int, len(keys))
	for i := range todo {
		todo[i] = i
	}
	// EVALSHA first; the few calls a Redis that lost its scripts (a
	// restart) answers NOSCRIPT are sent again in full, which also caches
	// the script there. A NOSCRIPT call did nothing, so resending is safe.
	for _, full := range []bool{false, true} {
		pipe := r.rdb.Pipeline()
		pipe.SetNX(ctx, r.layoutKey, r.layoutJSON, 0)
		pipe.SetNX(ctx, bucketsKeyOf(r.base), r.bits, 0)
		cmds := make([]*redis.Cmd, len(todo))
		for j, i := range todo {
			bucket := []string{keys[i].redisKey(r.base, r.bits)}
			args := []any{string(keys[i].field[:]), olds[i], news[i]}
			if full {
				cmds[j] = r.script.Eval(ctx, pipe, bucket, args...)
			} else {
				cmds[j] = r.script.EvalSha(ctx, pipe, bucket, args...)
			}
		}
		_, _ = pipe.Exec(ctx) // errors are read per command
		var again []int
		for j, i := range todo {
			v, err := cmds[j].Result()
			if err != nil && !full && strings.HasPrefix(err.Error(), "NOSCRIPT") {
				again = append(again, i)
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("state: write %d users: %w", len(keys), err)
			}
			out[i], err = swapOutcome(v)
			if err != nil {
				return nil, err
			}
		}
		if todo = again; len(todo) == 0 {
			break
		}
	}
	return out, nil
}

// swapOutcome reads the answer of swapScript.
func swapOutcome(v any) (swapped, error) {
	switch v := v.(type) {
	case int64:
		return swapped{done: true}, nil
	case []any:
		if len(v) == 1 {
			if s, ok := v[0].(string); ok {
				if s == "" {
					return swapped{}, nil
				}
				return swapped{current: []byte(s)}, nil
			}
		}
	}
	return swapped{}, fmt.Errorf("state: unexpected answer %T from the compare-and-set script", v)
}

func (r *redisBackend) put(ctx context.Context, keys []userKey, vals [][]byte) error {
	pipe := r.rdb.Pipeline()
	for i, k := range keys {
		if vals[i] == nil {
			pipe.HDel(ctx, k.redisKey(r.base, r.bits), string(k.field[:]))
		} else {
			pipe.HSet(ctx, k.redisKey(r.base, r.bits), string(k.field[:]), vals[i])
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("state: write %d entries: %w", len(keys), err)
	}
	return nil
}

func (r *redisBackend) layout(ctx context.Context, id uint32) ([]byte, error) {
	b, err := r.rdb.Get(ctx, r.layoutKeyOf(id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: read attribute layout %x: %w", id, err)
	}
	return b, nil
}
