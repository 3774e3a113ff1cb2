package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// penaltyScript sets KEYS[1] to expire in ARGV[1] ms unless it already lives
// longer, so that concurrent penalties never shorten each other. A script
// rather than PEXPIRE GT keeps it working on Redis 6 and Redis-protocol
// servers such as the demo's embedded one.
const penaltyScript = `
local ttl = redis.call("PTTL", KEYS[1])
if ttl < tonumber(ARGV[1]) then
  redis.call("SET", KEYS[1], "1", "PX", ARGV[1])
end
return 0
`

// Global paces the calls of every process that shares its Redis key, with
// GCRA (generic cell rate algorithm) kept in Redis by redis_rate.
type Global struct {
	rdb        redis.UniversalClient
	lim        *redis_rate.Limiter
	key        string
	penaltyKey string
	limit      redis_rate.Limit
	unlimited  bool
	penalty    *redis.Script
	pause      pause
	// space keeps this process's own calls at least one interval apart
	// when they leave, so a late wake-up here cannot add a burst on top of
	// what Redis granted.
	space *spacer
}

var _ Pacer = (*Global)(nil)

// NewGlobal returns a limiter granting perSecond calls per second in total to
// all limiters built on the same Redis and key, evenly paced (burst 1).
// perSecond ≤ 0 or +Inf means unlimited.
//
// redis_rate counts whole requests per period, so a fractional rate such as
// 5 × 0.8 = 4/s or 2.5/s is expressed exactly as one request per
// 1/perSecond period.
func NewGlobal(rdb redis.UniversalClient, key string, perSecond float64) *Global {
	g := &Global{
		rdb:        rdb,
		lim:        redis_rate.NewLimiter(rdb),
		key:        key,
		penaltyKey: key + ":penalty",
		penalty:    redis.NewScript(penaltyScript),
	}
	if perSecond <= 0 || math.IsInf(perSecond, 1) || math.IsNaN(perSecond) {
		g.unlimited = true
		return g
	}
	g.limit = redis_rate.Limit{
		Rate:   1,
		Burst:  1,
		Period: time.Duration(float64(time.Second) / perSecond),
	}
	g.space = newSpacer(g.limit.Period)
	return g
}

// Wait blocks until the shared budget grants one call, a penalty is over, or
// ctx is done. A Redis failure is returned wrapped; the caller decides
// whether to retry.
func (g *Global) Wait(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	if g.unlimited {
		return 0, nil
	}
	err := g.space.wait(ctx, func() time.Duration { return 0 }, g.allow)
	return time.Since(start), err
}

// allow loops until the shared budget grants one call.
func (g *Global) allow(ctx context.Context) error {
	for {
		if err := g.waitPenalty(ctx); err != nil {
			return err
		}
		res, err := g.lim.Allow(ctx, g.key, g.limit)
		if err != nil {
			return fmt.Errorf("ratelimit: global allow %q: %w", g.key, err)
		}
		if res.Allowed > 0 {
			return nil
		}
		// Another process took the slot: come back when the next one opens.
		if err := sleep(ctx, max(res.RetryAfter, time.Millisecond)); err != nil {
			return fmt.Errorf("ratelimit: wait: %w", err)
		}
	}
}

// waitPenalty sleeps out this process's pause and the shared one in Redis.
func (g *Global) waitPenalty(ctx context.Context) error {
	ttl, err := g.rdb.PTTL(ctx, g.penaltyKey).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("ratelimit: global penalty %q: %w", g.penaltyKey, err)
	}
	// PTTL answers negative values for a missing key or one without expiry.
	if err := sleep(ctx, max(ttl, g.pause.remaining())); err != nil {
		return fmt.Errorf("ratelimit: wait: %w", err)
	}
	return nil
}

// Penalize holds back every process sharing the key for d. The pause applies
// locally even when Redis cannot be reached.
func (g *Global) Penalize(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	g.pause.extend(d)
	ms := max(d.Milliseconds(), 1)
	if err := g.penalty.Run(ctx, g.rdb, []string{g.penaltyKey}, ms).Err(); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("ratelimit: global penalize %q: %w", g.penaltyKey, err)
	}
	return nil
}

// String describes the pace, for logs.
func (g *Global) String() string {
	if g.unlimited {
		return "global unlimited"
	}
	return fmt.Sprintf("global %g/s (key %s)", float64(time.Second)/float64(g.limit.Period), g.key)
}
