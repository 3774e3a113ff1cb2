package pipeline_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/attrsync/attrsync/internal/testenv/testapp"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/sim"
)

// TestRateLimitIsRespected runs a sustained burst (~7 s of work) against a
// simulator enforcing Iterable's 5 bulkUpdate requests per second: one
// instance, and three instances sharing the global budget in one Redis
// (separate Systems, separate Redis clients, as three processes would).
// Iterable must answer no 429 at all while the sync uses at least 90 % of
// the quota, with full requests.
func TestRateLimitIsRespected(t *testing.T) {
	if testing.Short() {
		t.Skip("sustained bursts of several seconds")
	}
	const (
		limit     = 5
		maxUsers  = 20
		requests  = 36 // ~7 s at 5/s
		instances = 3
		parts     = 6
	)
	for _, tc := range []struct {
		scope     string
		instances int
	}{{"local", 1}, {"global", 1}, {"global", instances}} {
		t.Run(fmt.Sprintf("%s/%d", tc.scope, tc.instances), func(t *testing.T) {
			e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: limit})
			msgs := make([]change.Message, requests*maxUsers)
			for i := range msgs {
				msgs[i] = upsertUser(i, 1)
			}
			e.Kafka.Produce(topic, msgs...)
			cfg := e.config("unused",
				fmt.Sprintf("batch: {max_users: %d, max_wait: 50ms}", maxUsers),
				fmt.Sprintf("rate_limit: {bulk_update_per_second: %d, scope: %s}", limit, tc.scope))

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			systems := make([]*app.App, tc.instances)
			for i := range systems {
				sys, err := app.Build(ctx, cfg, testapp.Logger(), app.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer sys.Close()
				systems[i] = sys
			}
			ranges, err := kafka.Ranges(ctx, systems[0].Kafka, cfg.Kafka.Topics, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			// Partitions are dealt out as a consumer group would, without the
			// rebalances of a group forming, which would pause the burst.
			var wg sync.WaitGroup
			for i, sys := range systems {
				var mine []kafka.Range
				for j, r := range ranges {
					if j%len(systems) == i {
						mine = append(mine, r)
					}
				}
				wg.Go(func() {
					if err := sys.Replay(ctx, mine); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()

			st := e.Sim.Stats()
			if st.TooManyRequests != 0 {
				t.Errorf("Iterable answered %d requests with 429", st.TooManyRequests)
			}
			reqs := testenv.BulkRequests(e.Sim)
			users := 0
			for _, r := range reqs {
				users += r.Users
			}
			if users < len(msgs) {
				t.Fatalf("%d users delivered, want %d", users, len(msgs))
			}
			first, last := reqs[0].Time, reqs[len(reqs)-1].Time
			for _, r := range reqs {
				first, last = minTime(first, r.Time), maxTime(last, r.Time)
			}
			// n requests paced exactly at the limit span (n-1) intervals.
			used := float64(len(reqs)-1) / last.Sub(first).Seconds() / limit
			t.Logf("%d requests in %s: %.0f%% of the quota", len(reqs), last.Sub(first).Round(time.Millisecond), 100*used)
			if used < 0.9 {
				t.Errorf("used %.0f%% of the bulkUpdate quota, want ≥ 90%%", 100*used)
			}
			// Requests are cut when their turn comes, from whatever is
			// queued: a backlog leaves full, also with the budget shared;
			// only each instance's last request carries a remainder.
			partial := 0
			for _, r := range reqs {
				if r.Users < maxUsers {
					partial++
				}
			}
			if partial > tc.instances {
				t.Errorf("%d of %d requests carried fewer than max_users %d users; only the last of each of the %d instances may", partial, len(reqs), maxUsers, tc.instances)
			}
		})
	}
}

func upsertUser(i, version int) change.Message {
	return upsertRow(i, fmt.Sprintf("u%05d@example.com", i), fmt.Sprintf("n%d", version), version)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
