package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/state"
)

// The update-mode rows (issue 13): a backlog of users that Iterable has and
// the state does not (a first sync in update mode), drained once with the
// existence set empty, where each user costs a lookup at Iterable's 100/s,
// and once after `attrsync prime` filled it, where none does.
const (
	MetricUpdateUnprimed = "Update mode backlog, no priming"
	MetricUpdatePrimed   = "Update mode backlog, primed"
)

// updateBacklog is the backlog's size: 100,000 users, fewer when the run
// has fewer.
func updateBacklog(opts Options) int { return min(opts.Users, 100_000) }

// updateResult is one update-mode drain.
type updateResult struct {
	users    int           // the backlog
	finished int64         // messages finished when the drain stopped
	lookups  int           // lookups Iterable answered
	took     time.Duration // from the group's first request to the stop
	complete bool          // the whole backlog drained
}

// projectedLookups is how many lookups the whole backlog takes at the
// rate measured.
func (u updateResult) projectedLookups() int64 {
	if u.complete || u.finished == 0 {
		return int64(u.lookups)
	}
	return int64(float64(u.lookups) * float64(u.users) / float64(u.finished))
}

// projected is how long the whole backlog takes at the rate measured.
func (u updateResult) projected() time.Duration {
	if u.complete || u.finished == 0 {
		return u.took
	}
	return time.Duration(float64(u.took) * float64(u.users) / float64(u.finished))
}

func (r *runner) update() {
	n := updateBacklog(r.opts)
	defer r.step("update mode: %s-user backlog, without and with priming", thousands(int64(n)))()
	for _, primed := range []bool{false, true} {
		metric := map[bool]string{false: MetricUpdateUnprimed, true: MetricUpdatePrimed}[primed]
		u, err := updateDrain(r.ctx, r.e, r.opts, n, primed)
		r.rss.observe()
		if err != nil {
			r.fail(fmt.Errorf("update mode (primed %v): %w", primed, err), metric)
			continue
		}
		row := Row{
			Metric:   metric,
			Value:    fmt.Sprintf("%s lookups, %s s", thousands(u.projectedLookups()), thousands(int64(u.projected().Seconds()))),
			Baseline: fmt.Sprintf("%.1f s (%s users ÷ 5,000 users/s of bulkUpdate)", float64(n)/theoreticalUsersPerSecond, thousands(int64(n))),
			Versus:   fmt.Sprintf("%.1f×", u.projected().Seconds()/(float64(n)/theoreticalUsersPerSecond)),
			Notes:    "the whole backlog drained; Iterable's limits enforced (lookups 100/s)",
		}
		if !u.complete {
			row.Notes = fmt.Sprintf("projected from %s users finished with %s lookups in the %.0f s measured: every user is looked up, at Iterable's 100/s",
				thousands(u.finished), thousands(int64(u.lookups)), u.took.Seconds())
		}
		r.set(row)
	}
}

// updateDrain syncs n users in update mode against a simulator that has
// them all, with Iterable's limits, from a state that has none of them;
// primed fills the existence set first, as `attrsync prime` does. Without
// priming each user needs a lookup, at 100 per second: the drain is cut
// after twice the write window plus 5 s and the time projected.
func updateDrain(ctx context.Context, e *env, opts Options, n int, primed bool) (updateResult, error) {
	res := updateResult{users: n}
	topic := fmt.Sprintf("bench.update.%v", primed)
	if err := e.createTopic(topic, opts.Partitions); err != nil {
		return res, err
	}
	defer e.deleteTopic(topic)
	if _, err := e.produceSnapshot(ctx, newGenerator(n, opts.Seed), topic); err != nil {
		return res, err
	}

	iter := sim.New(sim.Options{APIKey: apiKey, DiscardBodies: true})
	ids := make([]change.Identifier, n)
	for i := range n {
		ids[i] = change.Identifier{Kind: change.Email, Value: email(i)}
		if err := iter.SeedUser(ids[i].Value, "", nil); err != nil {
			return res, err
		}
	}
	srv, url, err := serve(iter)
	if err != nil {
		return res, err
	}
	defer srv.Close()
	cfg, err := syncSpec{
		brokers: e.brokers, topic: topic, group: "bench-" + topic, redisURL: e.redis.URL, iterURL: url,
		bulkPerSecond: sim.DefaultBulkUpdatePerSecond, scope: "local", maxWait: time.Second,
	}.config()
	if err != nil {
		return res, err
	}
	// A state of its own, so that no record from the warm-up says a user
	// exists.
	cfg.Sync.Name = "bench-" + topic
	cfg.Iterable.Mode = config.ModeUpdate
	if primed {
		ex, err := state.NewExistence(ctx, e.rdb, cfg.Redis.KeyPrefix, cfg.Sync.Name)
		if err != nil {
			return res, err
		}
		for lo := 0; lo < n; lo += 10_000 {
			if err := ex.MarkExisting(ctx, ids[lo:min(lo+10_000, n)]); err != nil {
				return res, err
			}
		}
	}
	in, err := startInstance(ctx, cfg)
	if err != nil {
		return res, err
	}
	start, err := waitUntil(ctx, time.Minute, 5*time.Millisecond, func() bool { return in.stats().Consumed > 0 })
	if err == nil {
		limit := 2*opts.WriteWindow + 5*time.Second
		var end time.Time
		end, err = waitUntil(ctx, max(limit, 10*time.Minute), 50*time.Millisecond, func() bool {
			return in.stats().Finished() >= int64(n) || (!primed && time.Since(start) >= limit)
		})
		res.took = end.Sub(start)
	}
	st := in.stats()
	res.finished, res.complete = st.Finished(), st.Finished() >= int64(n)
	if cerr := in.close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	for _, r := range iter.Requests() {
		if r.Endpoint == sim.EndpointGetByEmail || r.Endpoint == sim.EndpointGetByEmailPath {
			res.lookups++
		}
	}
	if err != nil {
		return res, fmt.Errorf("%w (%s)", err, progress(st))
	}
	return res, nil
}
