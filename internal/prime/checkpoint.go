package prime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Checkpoint is how far priming got: every user whose export date falls in
// [Since, Done) is in the existence set.
type Checkpoint struct {
	Since, Done time.Time
	// Chunk is the length of the next date range to ask for.
	Chunk time.Duration
	// Users counts the users marked since Since.
	Users int64
}

// RedisCheckpoint keeps a Checkpoint in the sync's Redis, at
// <prefix>:<sync>:prime, beside the existence set it describes (state reset
// drops both).
type RedisCheckpoint struct {
	rdb redis.UniversalClient
	key string
}

// NewRedisCheckpoint returns the checkpoint of sync syncName.
func NewRedisCheckpoint(rdb redis.UniversalClient, keyPrefix, syncName string) *RedisCheckpoint {
	return &RedisCheckpoint{rdb: rdb, key: keyPrefix + ":" + syncName + ":prime"}
}

// Load returns the checkpoint; found is false when there is none.
func (c *RedisCheckpoint) Load(ctx context.Context) (cp Checkpoint, found bool, err error) {
	h, err := c.rdb.HGetAll(ctx, c.key).Result()
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("prime: load checkpoint: %w", err)
	}
	if len(h) == 0 {
		return Checkpoint{}, false, nil
	}
	var errs []error
	num := func(field string) int64 {
		v, err := strconv.ParseInt(h[field], 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		}
		return v
	}
	cp = Checkpoint{
		Since: time.UnixMilli(num("since")).UTC(),
		Done:  time.UnixMilli(num("done")).UTC(),
		Chunk: time.Duration(num("chunk")) * time.Second,
		Users: num("users"),
	}
	if err := errors.Join(errs...); err != nil {
		return Checkpoint{}, false, fmt.Errorf("prime: checkpoint %s is corrupt (state reset drops it): %w", c.key, err)
	}
	return cp, true, nil
}

// Save records the checkpoint.
func (c *RedisCheckpoint) Save(ctx context.Context, cp Checkpoint) error {
	err := c.rdb.HSet(ctx, c.key,
		"since", cp.Since.UnixMilli(),
		"done", cp.Done.UnixMilli(),
		"chunk", int64(cp.Chunk/time.Second),
		"users", cp.Users,
	).Err()
	if err != nil {
		return fmt.Errorf("prime: save checkpoint: %w", err)
	}
	return nil
}
