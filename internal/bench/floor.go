package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
)

// MetricDecodeOnly is the floor under the diff path's 0 % row: what
// attrsync's own consumption runtime reads when each message is only
// decoded and mapped, then finished.
const MetricDecodeOnly = "Fetch, decode and map only (0 % change)"

// decodeOnly reads topic up to ends through attrsync's consumption runtime
// (internal/kafka, as the pipeline reads) with the sync's decoder and mapper,
// and finishes each message as soon as it is mapped: no coalescing, no
// diff, no Redis. Every design of the diff path must at least fetch, decode
// and map each event, so no design reads faster than this on the same
// machine; the gap between this row and the diff path's is what the diff
// itself costs. Timed from the first message handed out to the last one
// finished, as the other consumers are.
func decodeOnly(ctx context.Context, cpu cpuMeter, cfg *config.Config, topic string, ends map[int]int64) (span, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	conn, err := kafka.NewConn(cfg.Kafka)
	if err != nil {
		return span{}, err
	}
	mapper, err := app.NewMapper(cfg)
	if err != nil {
		return span{}, err
	}
	var ranges []kafka.Range
	for p, end := range ends {
		ranges = append(ranges, kafka.Range{Topic: topic, Partition: p, Start: 0, End: end})
	}
	h := &mapOnly{mapper: mapper, decoders: map[int]*cdc.Decoder{}}
	for p := range ends {
		if h.decoders[p], err = app.NewDecoder(cfg, mapper); err != nil {
			return span{}, err
		}
	}
	cpu0 := cpu.sample(ctx)
	err = kafka.ReadRanges(ctx, conn, ranges, kafka.ReadConfig{MaxHeldBytes: cfg.Batch.MaxHeldBytes, ShutdownGrace: time.Second},
		func(_ context.Context, _ []change.Position, f kafka.Finisher) kafka.Handler {
			h.f = f
			return h
		})
	last := time.Now()
	if err == nil {
		err = h.err()
	}
	if err != nil {
		return span{}, fmt.Errorf("decode only: %w", err)
	}
	res := span{events: h.handled.Load(), elapsed: last.Sub(time.Unix(0, h.first.Load()))}
	res.busy = cores(cpu0, cpu.sample(ctx))
	return res, nil
}

// mapOnly is a kafka.Handler that decodes and maps each message, then
// finishes it. Partitions call Handle in parallel, each with its own
// decoder: a Decoder recycles rows and is not for concurrent use.
type mapOnly struct {
	mapper   *mapping.Mapper
	decoders map[int]*cdc.Decoder // by partition; read-only once reading starts
	f        kafka.Finisher

	first   atomic.Int64 // UnixNano of the first message; 0 before it
	handled atomic.Int64

	mu       sync.Mutex // guards the two below; taken only on a failure
	failed   int
	firstErr error
}

func (h *mapOnly) Handle(_ context.Context, m change.Message) bool {
	if h.first.Load() == 0 {
		h.first.CompareAndSwap(0, time.Now().UnixNano())
	}
	dec := h.decoders[m.Pos.Partition]
	row, err := dec.Decode(m.Key, m.Value)
	if err == nil {
		_, err = h.mapper.Map(row, m.Pos)
		dec.Recycle(row)
	}
	if err != nil {
		h.mu.Lock()
		if h.failed++; h.firstErr == nil {
			h.firstErr = fmt.Errorf("%s/%d@%d: %w", m.Pos.Topic, m.Pos.Partition, m.Pos.Offset, err)
		}
		h.mu.Unlock()
	}
	h.handled.Add(1)
	h.f.Finish(m.Pos)
	return true
}

// Drain has nothing to wait for: every message is finished in Handle.
func (h *mapOnly) Drain(context.Context) {}

// err is the first message that failed to decode or map, if any: the
// generated events all should, so a failure means the row measured
// something else.
func (h *mapOnly) err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed == 0 {
		return nil
	}
	return fmt.Errorf("%d messages failed to decode or map, the first %w", h.failed, h.firstErr)
}
