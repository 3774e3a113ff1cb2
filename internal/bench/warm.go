package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/state"
)

// warmTopic is the topic the warm-up records claim to come from. No
// scenario reads it, so no scenario event is ever stale against it.
const warmTopic = "app.public.users.snapshot"

// memoryResult is the Redis cost of the synced users.
type memoryResult struct {
	users        int
	before       int64 // used_memory before the warm-up
	after        int64
	bucketFormat string // OBJECT ENCODING of a bucket hash
}

// perUser is used_memory growth per synced user, in bytes.
func (m memoryResult) perUser() float64 { return float64(m.after-m.before) / float64(m.users) }

// warmState syncs every generated user once, writing exactly what the
// pipeline writes after Iterable accepted a user's snapshot event: the event
// goes through the real decoder and mapper, and the record through
// state.Store's Apply and Save. Skipping Kafka and Iterable here keeps a
// million-user warm-up within seconds; the scenarios then diff against
// this state through the whole pipeline.
func warmState(ctx context.Context, e *env, g *generator, cfg *config.Config) (memoryResult, error) {
	mapper, err := app.NewMapper(cfg)
	if err != nil {
		return memoryResult{}, err
	}
	attrs := make([]string, len(cfg.Iterable.Attributes))
	for i, a := range cfg.Iterable.Attributes {
		attrs[i] = a.To
	}
	store, err := state.New(ctx, e.rdb, cfg.Redis.KeyPrefix, cfg.Sync.Name, attrs)
	if err != nil {
		return memoryResult{}, err
	}
	res := memoryResult{users: g.users()}
	if res.before, err = state.UsedMemory(ctx, e.rdb); err != nil {
		return res, err
	}
	// Two workers: one per core, each alternating CPU (generate, decode,
	// map) with a pipelined round trip to Redis.
	const workers, chunk = 2, 1000
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			dec, err := cdc.New(cfg.Source.Format, cdc.OnlyFields(mapper.SourceFields()...))
			if err != nil {
				errs <- err
				return
			}
			for lo := w * chunk; lo < g.users(); lo += workers * chunk {
				if err := warmChunk(ctx, g, dec, mapper, store, lo, min(lo+chunk, g.users())); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return res, err
	}
	if res.after, err = state.UsedMemory(ctx, e.rdb); err != nil {
		return res, err
	}
	res.bucketFormat, err = bucketEncoding(ctx, e, cfg.Redis.KeyPrefix+":"+cfg.Sync.Name+":s:*")
	return res, err
}

// bucketEncoding returns the OBJECT ENCODING of a bucket hash matching
// pattern: the first SCAN finds. A given bucket may hold no user in a small
// sync (the quick run's 10,000 users leave most of the 16,384 empty).
func bucketEncoding(ctx context.Context, e *env, pattern string) (string, error) {
	iter := e.rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	if iter.Next(ctx) {
		return e.rdb.ObjectEncoding(ctx, iter.Val()).Result()
	}
	if err := iter.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("warm-up: no bucket hash matches %s", pattern)
}

// warmChunk syncs users lo..hi-1.
func warmChunk(ctx context.Context, g *generator, dec *cdc.Decoder, mapper *mapping.Mapper, store *state.Store, lo, hi int) error {
	now := time.Now()
	ids := make([]change.Identifier, 0, hi-lo)
	recs := make([]state.Record, 0, hi-lo)
	for i := lo; i < hi; i++ {
		ev := g.create(i, now)
		row, err := dec.Decode(ev.key, ev.value)
		if err != nil {
			return fmt.Errorf("warm-up: decode user %d: %w", i, err)
		}
		// Positions as a six-partition topic would give them; their
		// varint size is part of the record size measured.
		pos := change.Position{Topic: warmTopic, Partition: i % 6, Offset: int64(i / 6)}
		uc, err := mapper.Map(row, pos)
		if err != nil {
			return fmt.Errorf("warm-up: map user %d: %w", i, err)
		}
		dec.Recycle(row)
		if len(uc.Attrs) != attributeCount {
			return fmt.Errorf("warm-up: user %d maps to %d attributes, want %d", i, len(uc.Attrs), attributeCount)
		}
		ids = append(ids, uc.User)
		recs = append(recs, store.Apply(state.Record{}, uc.Attrs, pos, false, now))
	}
	sw, err := store.Save(ctx, ids, recs)
	if err != nil {
		return err
	}
	for i, w := range sw {
		if !w.Done {
			return fmt.Errorf("warm-up: user %d was written meanwhile by someone else", i)
		}
	}
	return nil
}
