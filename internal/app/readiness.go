package app

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// redisPingTimeout bounds the Redis check of a readiness probe, so that a
// hung Redis makes the probe answer "not ready" rather than time out.
const redisPingTimeout = time.Second

// Readiness reports whether the sync can make progress now and why, one
// line per dependency: the consumer group is joined (not between
// generations), Redis answers PING, and Iterable accepts the API key.
func (a *App) Readiness(ctx context.Context) (bool, string) {
	var lines []string
	ready := true
	check := func(name string, ok bool, why string) {
		state := "ok"
		if !ok {
			state, ready = "not ready", false
		}
		lines = append(lines, fmt.Sprintf("%s: %s (%s)", name, state, why))
	}

	if a.joined.Load() {
		check("kafka", true, "consumer group "+a.cfg.Kafka.GroupID+" joined")
	} else {
		check("kafka", false, "not in a consumer-group generation: joining or rebalancing")
	}

	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	err := a.Redis.Ping(pctx).Err()
	cancel()
	if err != nil {
		check("redis", false, "PING failed: "+err.Error())
	} else {
		check("redis", true, "PING answered")
	}

	ok, why := a.Pipeline.Ready()
	check("iterable", ok, why)
	return ready, strings.Join(lines, "\n")
}
