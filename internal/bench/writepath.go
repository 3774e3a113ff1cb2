package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
)

// writeResult is one write-path scenario.
type writeResult struct {
	instances int
	window    time.Duration
	users     int64 // users in bulkUpdate requests accepted within the window
	requests  int64 // requests accepted within the window
	tooMany   int   // 429 answers over the whole scenario
	// tooManyAt are the times of the 429 answers from starting the
	// instances, to tell those of joins and rebalances from the window's.
	tooManyAt []time.Duration
	joined    time.Duration // from starting the instances to the window
}

// usersPerSecond is the accepted users per second within the window.
func (w writeResult) usersPerSecond() float64 { return float64(w.users) / w.window.Seconds() }

// theoreticalUsersPerSecond is Iterable's documented ceiling: 5 bulkUpdate
// requests per second of max_users (1000) users each.
const theoreticalUsersPerSecond = sim.DefaultBulkUpdatePerSecond * 1000

// writePath measures bulkUpdate throughput against the simulator's
// enforced limit (5 requests/s), with a backlog of changed users larger
// than the window can drain, so every request could be full. With
// instances > 1 the pipelines share one consumer group and one global
// limiter in Redis (rate_limit.scope: global), each with its own Redis
// client and Kafka connections: the code path of separate processes,
// whose only shared state is Kafka and Redis.
func writePath(ctx context.Context, e *env, opts Options, instances int) (writeResult, error) {
	res := writeResult{instances: instances, window: opts.WriteWindow}
	topic := fmt.Sprintf("bench.write.%d", instances)
	if err := e.createTopic(topic, opts.Partitions); err != nil {
		return res, err
	}
	defer e.deleteTopic(topic)
	// A generator of its own, with users enough that the backlog is of
	// distinct users: repeats of one user coalesce into one, and a backlog
	// of repeats runs dry long before its size says (the warm-up's
	// generator has 10,000 users in quick mode).
	g := newGenerator(2*writeBacklog(opts), opts.Seed)
	if err := e.produceUpdates(ctx, g, topic, writeBacklog(opts), 1); err != nil {
		return res, err
	}

	iter := sim.New(sim.Options{APIKey: apiKey, DiscardBodies: true}) // Iterable's limits
	srv, url, err := serve(iter)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	group := fmt.Sprintf("bench-write-%d", instances)
	// A state of its own (sync.name): its generator's users are not the
	// warm-up's, and writing them into the shared state would make later
	// scenarios' changes look already synced.
	cfg, err := syncSpec{
		name: group, brokers: e.brokers, topic: topic, group: group, redisURL: e.redis.URL, iterURL: url,
		bulkPerSecond: sim.DefaultBulkUpdatePerSecond, scope: "global", maxWait: time.Second,
	}.config()
	if err != nil {
		return res, err
	}
	var ins []*instance
	begin := time.Now()
	for range instances {
		in, err := startInstance(ctx, cfg)
		if err != nil {
			return res, errors.Join(err, closeAll(ins))
		}
		ins = append(ins, in)
	}
	// The first members drain the backlog while the others join, which on
	// a loaded machine took longer than the margin lasted: a member left
	// without messages never sent ("instances not all sending"). Once the
	// group is stable, what was consumed meanwhile is produced again, so
	// the window starts with the whole backlog ahead.
	jctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = e.waitGroupStable(jctx, group, len(ins))
	cancel()
	if err == nil {
		var consumed int64
		for _, in := range ins {
			consumed += in.stats().Consumed
		}
		if consumed > 0 {
			err = e.produceUpdates(ctx, g, topic, int(consumed), 1)
		}
	}
	var start time.Time
	if err == nil {
		start, err = waitSending(ctx, ins)
	}
	if err == nil {
		select {
		case <-time.After(opts.WriteWindow):
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	end := time.Now()
	if err := errors.Join(err, closeAll(ins)); err != nil {
		return res, err
	}
	for _, r := range iter.Requests() {
		done := r.Time.Add(r.Duration)
		if r.Endpoint == sim.EndpointBulkUpdate && r.Status == 429 {
			res.tooManyAt = append(res.tooManyAt, r.Time.Sub(begin).Round(10*time.Millisecond))
		}
		if r.Endpoint == sim.EndpointBulkUpdate && r.Status == 200 && !done.Before(start) && !done.After(end) {
			res.users += int64(r.Users)
			res.requests++
		}
	}
	res.window = end.Sub(start)
	res.joined = start.Sub(begin)
	res.tooMany = iter.Stats().TooManyRequests
	return res, nil
}

// writeBacklog is how many changed users the write path produces: more
// than the window can drain at Iterable's ceiling. Joining takes a few
// seconds more with three members; the margin keeps the backlog from
// running dry before the window ends.
func writeBacklog(opts Options) int {
	return int((opts.WriteWindow + 8*time.Second).Seconds() * theoreticalUsersPerSecond)
}

// waitSending waits until each instance has had a request answered and
// returns that moment: the start of the sustained window.
func waitSending(ctx context.Context, ins []*instance) (time.Time, error) {
	t, err := waitUntil(ctx, time.Minute, 5*time.Millisecond, func() bool {
		for _, in := range ins {
			if in.stats().Requests == 0 {
				return false
			}
		}
		return true
	})
	if err != nil {
		var states []string
		for i, in := range ins {
			states = append(states, fmt.Sprintf("instance %d: %s", i+1, progress(in.stats())))
		}
		return t, fmt.Errorf("instances not all sending: %w (%s)", err, strings.Join(states, "; "))
	}
	return t, nil
}
