package state

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// Reset drops all state of the sync and reports how many user records it
// removed: every key under <prefix>:<sync>, so also the existence set and
// the checkpoint `attrsync prime` left, and the adaptive rate limiters'
// state. The next pass re-sends every user's attributes. On Redis Cluster
// every master is scanned: a SCAN through the cluster client would only see
// the keys of one node.
func (s *Store) Reset(ctx context.Context) (int, error) {
	var users atomic.Int64
	var err error
	if mem, ok := s.be.(*memoryBackend); ok {
		mem.mu.Lock()
		defer mem.mu.Unlock()
		n := 0
		for k := range mem.records {
			if k.space == spaceRecords {
				n++
			}
		}
		clear(mem.records)
		clear(mem.layouts)
		return n, nil
	}
	if cc, ok := s.rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			return s.resetNode(ctx, node, &users)
		})
	} else {
		err = s.resetNode(ctx, s.rdb, &users)
	}
	if err != nil {
		return int(users.Load()), fmt.Errorf("state: reset: %w", err)
	}
	return int(users.Load()), nil
}

// resetNode deletes the sync's keys held by one Redis node, counting the
// user records of the buckets it deletes.
func (s *Store) resetNode(ctx context.Context, node redis.Cmdable, users *atomic.Int64) error {
	iter := node.Scan(ctx, 0, s.base+":*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		if strings.HasPrefix(key, s.base+":s:") {
			n, err := node.HLen(ctx, key).Result()
			if err != nil {
				return err
			}
			users.Add(n)
		}
		if err := node.Del(ctx, key).Err(); err != nil {
			return err
		}
	}
	return iter.Err()
}
