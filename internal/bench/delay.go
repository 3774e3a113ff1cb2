package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
)

// delayResult is the end-to-end delay scenario.
type delayResult struct {
	events   int
	measured int // events whose acceptance was found
	rate     float64
	pipe     percentiles
	bare     percentiles
}

type percentiles struct{ p50, p99 time.Duration }

// liveDelay measures the delay from an event's source timestamp (ts_ms,
// set when the event is produced) to Iterable accepting it, while events
// are produced at a steady rate below the write path's capacity, against
// the enforced limit. Each event changes its user, so its version column is
// unique; the accept recorder tells when that version (or a later one)
// reached Iterable. As a baseline, bare kafka-go readers on the same topic
// note when each event reached them: the delay no consumer can beat.
func liveDelay(ctx context.Context, e *env, g *generator, opts Options) (delayResult, error) {
	res := delayResult{}
	const topic = "bench.live"
	if err := e.createTopic(topic, opts.Partitions); err != nil {
		return res, err
	}
	defer e.deleteTopic(topic)

	rec := newAcceptRecorder(sim.New(sim.Options{APIKey: apiKey, DiscardBodies: true}))
	srv, url, err := serve(rec)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	const group = "bench-live"
	cfg, err := syncSpec{
		brokers: e.brokers, topic: topic, group: group, redisURL: e.redis.URL, iterURL: url,
		bulkPerSecond: sim.DefaultBulkUpdatePerSecond, scope: "global", maxWait: time.Second,
	}.config()
	if err != nil {
		return res, err
	}
	in, err := startInstance(ctx, cfg)
	if err != nil {
		return res, err
	}
	jctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = e.waitGroupStable(jctx, group, 1)
	cancel()
	if err != nil {
		return res, errors.Join(err, in.close())
	}

	bare := startBareTimer(ctx, e.brokers, topic, opts.Partitions)
	evs, err := produceLive(ctx, e, g, topic, opts.LiveRate, opts.LiveDuration)
	if err == nil {
		res.events = len(evs)
		res.rate = float64(len(evs)) / opts.LiveDuration.Seconds()
		_, err = waitUntil(ctx, time.Minute, 10*time.Millisecond, func() bool { return in.stats().Finished() >= int64(len(evs)) })
		if err != nil {
			err = fmt.Errorf("live pipeline: %w; %s", err, progress(in.stats()))
		}
	}
	ends, endErr := e.endOffsets(topic, opts.Partitions)
	var bareDelays []time.Duration
	var bareErr error
	if endErr == nil {
		bareDelays, bareErr = bare.stop(ends)
	} else {
		bare.cancel()
		bare.wg.Wait()
	}
	if err := errors.Join(err, endErr, bareErr, in.close()); err != nil {
		return res, err
	}

	pipeDelays := make([]time.Duration, 0, len(evs))
	for _, ev := range evs {
		if at, ok := rec.acceptedAt(email(ev.user), ev.version); ok {
			pipeDelays = append(pipeDelays, at.Sub(time.UnixMilli(ev.sourceTS)))
		}
	}
	res.measured = len(pipeDelays)
	if res.measured < res.events {
		return res, fmt.Errorf("live: acceptance found for %d of %d events", res.measured, res.events)
	}
	res.pipe, res.bare = percentilesOf(pipeDelays), percentilesOf(bareDelays)
	return res, nil
}

// produceLive produces update events that each change their user, at rate
// per second for d, stamping each with the time it is produced.
func produceLive(ctx context.Context, e *env, g *generator, topic string, rate int, d time.Duration) ([]event, error) {
	const tick = 10 * time.Millisecond
	p := e.producer(topic, max(1, rate/100))
	var out []event
	start := time.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		elapsed := time.Since(start)
		if elapsed >= d {
			break
		}
		// Catch up on what is due rather than a fixed count per tick, so a
		// slow write does not lower the rate.
		due := int(elapsed.Seconds()*float64(rate)) + 1
		now := time.Now()
		var batch []event
		for len(out)+len(batch) < due {
			batch = append(batch, g.update(1, now))
		}
		if err := p.write(ctx, batch); err != nil {
			p.close()
			return nil, err
		}
		out = append(out, batch...)
		select {
		case <-t.C:
		case <-ctx.Done():
			p.close()
			return nil, ctx.Err()
		}
	}
	return out, p.close()
}

// bareTimer is a set of bare partition readers noting, per message, the
// delay from its source timestamp to its arrival.
type bareTimer struct {
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	mu      sync.Mutex
	delays  []time.Duration
	reached map[int]int64 // next offset per partition
	errs    []error
}

func startBareTimer(ctx context.Context, brokers []string, topic string, partitions int) *bareTimer {
	ctx, cancel := context.WithCancel(ctx)
	b := &bareTimer{cancel: cancel, reached: map[int]int64{}}
	for p := range partitions {
		b.wg.Go(func() {
			r := newReader(brokers, topic, p)
			defer r.Close()
			for {
				m, err := r.FetchMessage(ctx)
				if err != nil {
					if ctx.Err() == nil {
						b.mu.Lock()
						b.errs = append(b.errs, err)
						b.mu.Unlock()
					}
					return
				}
				at := time.Now()
				ts, ok := sourceTS(m.Value)
				b.mu.Lock()
				if ok {
					b.delays = append(b.delays, at.Sub(time.UnixMilli(ts)))
				}
				b.reached[p] = m.Offset + 1
				b.mu.Unlock()
			}
		})
	}
	return b
}

// stop waits (briefly) until every partition is read up to ends, stops the
// readers and returns the delays they noted.
func (b *bareTimer) stop(ends map[int]int64) ([]time.Duration, error) {
	_, err := waitUntil(context.Background(), 30*time.Second, 10*time.Millisecond, func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		for p, end := range ends {
			if b.reached[p] < end {
				return false
			}
		}
		return true
	})
	b.cancel()
	b.wg.Wait()
	if err != nil {
		err = fmt.Errorf("bare readers: %w", err)
	}
	return b.delays, errors.Join(append(b.errs, err)...)
}

// sourceTS finds the envelope's ts_ms, the last member of the payload.
func sourceTS(value []byte) (int64, bool) {
	const key = `"ts_ms":`
	i := bytes.LastIndex(value, []byte(key))
	if i < 0 {
		return 0, false
	}
	rest := value[i+len(key):]
	j := bytes.IndexAny(rest, ",}")
	if j < 0 {
		return 0, false
	}
	ts, err := strconv.ParseInt(string(bytes.TrimSpace(rest[:j])), 10, 64)
	return ts, err == nil
}

func percentilesOf(d []time.Duration) percentiles {
	if len(d) == 0 {
		return percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[max(0, int(math.Ceil(q*float64(len(s))))-1)] }
	return percentiles{p50: at(0.50), p99: at(0.99)}
}
