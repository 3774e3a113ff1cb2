package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/sim"
)

// diffResult is one diff-path scenario: the pipeline and the bare consumer
// over the same topic.
type diffResult struct {
	changeRate         float64
	pipe, bare         span
	floor              span  // fetch, decode and map only; at 0 % change alone
	pipeRSS, bareRSS   int64 // KiB, peak during each phase
	accepted, requests int64
}

// diffPath measures decode, map, diff and coalesce: update events at
// changeRate over users whose state is warm, against an Iterable with no
// rate limit, so the figure is attrsync's own speed. The events are all
// produced before either consumer starts, on a topic of their own that a
// fresh consumer group reads from the start.
func diffPath(ctx context.Context, e *env, g *generator, opts Options, rss *rssTracker, changeRate float64) (diffResult, error) {
	res := diffResult{changeRate: changeRate}
	pct := int(changeRate * 100)
	topic := fmt.Sprintf("bench.diff.%d", pct)
	if err := e.createTopic(topic, opts.Partitions); err != nil {
		return res, err
	}
	defer e.deleteTopic(topic)
	if err := e.produceUpdates(ctx, g, topic, opts.Events, changeRate); err != nil {
		return res, err
	}
	ends, err := e.endOffsets(topic, opts.Partitions)
	if err != nil {
		return res, err
	}

	if err := res.bareOnce(ctx, e, rss, topic, ends); err != nil {
		return res, err
	}

	iter := sim.New(sim.Options{APIKey: apiKey, BulkUpdatePerSecond: -1, LookupPerSecond: -1, DiscardBodies: true})
	srv, url, err := serve(iter)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	cfg, err := syncSpec{
		brokers: e.brokers, topic: topic, group: "bench-diff-" + fmt.Sprint(pct),
		redisURL: e.redis.URL, iterURL: url,
		// Far above what the pipeline can send: the limiter never waits.
		bulkPerSecond: 1e6, scope: "local",
		// The last partial candidate waits max_wait; keep that tail short
		// next to a run of a few seconds.
		maxWait: 50 * time.Millisecond,
	}.config()
	if err != nil {
		return res, err
	}
	if changeRate == 0 {
		// Decoding is the same at any change rate: one floor will do.
		if res.floor, err = decodeOnly(ctx, e.cpu(), cfg, topic, ends); err != nil {
			return res, err
		}
	}
	res.pipeRSS, err = rss.phase(func() error {
		stop, err := startProfile(opts.CPUProfile, fmt.Sprintf("diff%d", pct))
		if err != nil {
			return err
		}
		defer stop()
		res.pipe, err = runToEnd(ctx, e.cpu(), cfg, int64(opts.Events))
		return err
	})
	if err != nil {
		return res, err
	}
	if err := res.bareOnce(ctx, e, rss, topic, ends); err != nil {
		return res, err
	}
	is := iter.Stats()
	res.requests = int64(is.Requests[sim.EndpointBulkUpdate][200])
	res.accepted = int64(is.UsersCreated + is.UsersUpdated)
	return res, nil
}

// bareOnce runs the bare consumer over topic and keeps the faster of its
// runs. It runs before and after the pipeline: on two shared cores a single
// short read varies by tens of percent, and the best of two is the fairer
// (and for attrsync the harder) baseline.
func (res *diffResult) bareOnce(ctx context.Context, e *env, rss *rssTracker, topic string, ends map[int]int64) error {
	var s span
	peak, err := rss.phase(func() (err error) {
		s, err = bareConsume(ctx, e.cpu(), e.brokers, topic, ends)
		return err
	})
	if err != nil {
		return err
	}
	res.bareRSS = max(res.bareRSS, peak)
	if s.perSecond() > res.bare.perSecond() {
		res.bare = s
	}
	return nil
}

// runToEnd runs one pipeline until it has finished events messages.
func runToEnd(ctx context.Context, cpu cpuMeter, cfg *config.Config, events int64) (span, error) {
	in, err := startInstance(ctx, cfg)
	if err != nil {
		return span{}, err
	}
	s, err := timeToEnd(ctx, cpu, in.stats, events)
	return s, errors.Join(err, in.close())
}

// timeToEnd times a pipeline from the first message consumed until events
// messages are finished, as bareConsume is timed: the consumer-group join
// before the first message is a fixed cost, whatever the volume.
func timeToEnd(ctx context.Context, cpu cpuMeter, stats func() pipeline.Snapshot, events int64) (span, error) {
	// A 1 ms poll costs little next to the work measured and bounds the
	// timing error to a millisecond at either end.
	first, err := waitUntil(ctx, time.Minute, time.Millisecond, func() bool { return stats().Consumed > 0 })
	if err != nil {
		return span{}, fmt.Errorf("pipeline consumed nothing: %w", err)
	}
	cpu0 := cpu.sample(ctx)
	last, err := waitUntil(ctx, 3*time.Minute, time.Millisecond, func() bool { return stats().Finished() >= events })
	if err != nil {
		return span{}, fmt.Errorf("pipeline: %w; %s", err, progress(stats()))
	}
	if st := stats(); st.DeadLettered > 0 {
		return span{}, fmt.Errorf("pipeline dead-lettered %d events %v; %s", st.DeadLettered, st.DeadLetteredBy, progress(st))
	}
	res := span{events: events, elapsed: last.Sub(first)}
	res.busy = cores(cpu0, cpu.sample(ctx))
	return res, nil
}
