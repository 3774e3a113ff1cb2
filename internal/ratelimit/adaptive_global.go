package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// adaptiveTTL is how long a global adaptive state outlives its last use: a
// pace learned while another client was busy says nothing after a long
// pause of the sync, which then starts again at its maximum.
const adaptiveTTL = 10 * time.Minute

// reportEvery bounds how often one process reports successes to Redis.
// Increases are by elapsed time, so fewer reports climb just as fast; a
// 100/s lookup budget costs at most ten extra round trips a second.
const reportEvery = 100 * time.Millisecond

// luaPrelude is shared by both scripts. Times are Unix milliseconds from
// Redis's clock, so instances on hosts with skewed clocks agree; a caller
// may pass its own (tests). TIME before a write needs effect replication,
// the default since Redis 5 and requested explicitly for older servers.
const luaPrelude = `
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms(arg)
  local n = tonumber(arg)
  if n and n > 0 then return n end
  local t = redis.call("TIME")
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local function f(x) return string.format("%.17g", x) end
local function num(v) return tonumber(v) or 0 end
local function pace(v, mx, mn)
  local r = num(v)
  if r <= 0 then r = mx end
  return math.min(mx, math.max(mn, r))
end
`

// acquireScript grants one call at the shared pace, evenly (GCRA with a
// burst of one), unless a pause is in force. KEYS[1] is the state hash;
// ARGV: max, min, ttl ms, now (optional). It returns {wait ms, pace}: a
// wait of 0 is a grant.
const acquireScript = luaPrelude + `
local now = now_ms(ARGV[4])
local v = redis.call("HMGET", KEYS[1], "rate", "pause", "tat")
local rate = pace(v[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
local wait = math.max(num(v[2]) - now, num(v[3]) - now, 0)
if wait > 0 then return {f(wait), f(rate)} end
redis.call("HSET", KEYS[1], "tat", f(now + 1000 / rate))
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return {"0", f(rate)}
`

// departScript books the next departure (see Departures): one interval at
// the shared pace after the last one booked, and not before a pause ends.
// KEYS[1] is the state hash; ARGV: max, min, ttl ms, now (optional). It
// returns the wait in ms until the booked departure.
const departScript = luaPrelude + `
local now = now_ms(ARGV[4])
local v = redis.call("HMGET", KEYS[1], "rate", "pause", "dep")
local rate = pace(v[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
local at = math.max(now, num(v[2]), num(v[3]) + 1000 / rate)
redis.call("HSET", KEYS[1], "dep", f(at))
redis.call("PEXPIRE", KEYS[1], ARGV[3])
return f(at - now)
`

// feedbackScript applies a 429 (ARGV[1] "t") or a success ("s") to the
// state, exactly as AIMD.throttled and AIMD.succeeded do. ARGV: kind, max,
// min, decrease, increase, probe, margin, hold min ms, hold max ms,
// cooldown ms, ttl ms, wait ms, cap rate, forget, now (optional). It
// returns the pace.
const feedbackScript = luaPrelude + `
local now = now_ms(ARGV[15])
local forget = tonumber(ARGV[14])
local mx, mn = tonumber(ARGV[2]), tonumber(ARGV[3])
local dec, inc, probe, basemargin = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local holdmin, holdmax, cooldown = tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local v = redis.call("HMGET", KEYS[1], "rate", "ceiling", "margin", "hold", "down", "upd", "pause")
local rate = pace(v[1], mx, mn)
local ceiling, margin, hold, down, upd, pause = num(v[2]), num(v[3]), num(v[4]), num(v[5]), num(v[6]), num(v[7])
local function m() if margin > 0 then return margin end return basemargin end
if ARGV[1] == "t" then
  local cap = tonumber(ARGV[13])
  pause = math.max(pause, now + tonumber(ARGV[12]))
  if down == 0 or now - down >= cooldown then
    local doubled = math.min(math.max(hold, holdmin) * 2, holdmax)
    if ceiling == 0 then
      ceiling, margin, hold = rate, basemargin, holdmin
    elseif now - down >= hold then
      ceiling, margin, hold = math.min(ceiling, rate), basemargin, doubled
    else
      ceiling, margin, hold = rate, math.min(m() * 2, 1 - dec), doubled
    end
    rate = math.max(mn, rate * dec)
    down, upd = now, now
  end
  if cap > 0 then
    if ceiling == 0 or cap < ceiling then ceiling = cap end
    rate = math.max(mn, math.min(rate, cap * (1 - m())))
  end
else
  local dt = 0
  if upd > 0 then dt = math.max(0, math.min(now - upd, 1000)) end
  upd = now
  local target = ceiling * (1 - m())
  if dt == 0 then
  elseif ceiling == 0 then
    rate = math.min(mx, rate + inc * dt / 1000)
  elseif rate < target then
    rate = math.min(target, rate + inc * dt / 1000)
  elseif now - down >= hold then
    rate = math.min(mx, rate + probe * dt / 1000)
    if rate > ceiling * (1 + forget) or (rate >= mx and ceiling < mx) then ceiling = 0 end
  end
end
redis.call("HSET", KEYS[1], "rate", f(rate), "ceiling", f(ceiling), "margin", f(margin), "hold", f(hold),
  "down", f(down), "upd", f(upd), "pause", f(pause))
redis.call("PEXPIRE", KEYS[1], ARGV[11])
return f(math.min(mx, math.max(mn, rate)))
`

// NewAdaptiveGlobal returns an adaptive limiter whose state is the Redis
// hash key, shared by every limiter built on the same Redis and key: the
// instances of a sync pace together and learn together. The state is
// changed only by Lua scripts, so concurrent reports never interleave.
// p.Max ≤ 0 means unlimited.
func NewAdaptiveGlobal(rdb redis.UniversalClient, key string, p AIMD) *Adaptive {
	desc := "global (key " + key + ")"
	if p.unlimited() {
		return newAdaptive(p, nil, desc)
	}
	p = p.withDefaults()
	return newAdaptive(p, &globalBackend{
		rdb: rdb, key: key, p: p,
		acquire:  redis.NewScript(acquireScript),
		depart:   redis.NewScript(departScript),
		feedback: redis.NewScript(feedbackScript),
	}, desc)
}

// globalBackend keeps the state in Redis.
type globalBackend struct {
	rdb      redis.UniversalClient
	key      string
	p        AIMD
	acquire  *redis.Script
	depart   *redis.Script
	feedback *redis.Script
	// pause is this process's copy of the pauses it was told of, so that a
	// 429 is honoured even while Redis cannot be reached.
	pause pause
	// lastReport is when this process last reported a success (Unix ns).
	lastReport atomic.Int64
	// now overrides Redis's clock with Unix milliseconds (tests); nil in
	// production.
	now func() float64
}

// nowArg is the optional clock argument of the scripts.
func (g *globalBackend) nowArg() string {
	if g.now == nil {
		return ""
	}
	return fmtFloat(g.now())
}

func (g *globalBackend) grant(ctx context.Context) (float64, error) {
	for {
		wait, rate, err := g.tryAcquire(ctx)
		if err != nil || wait <= 0 {
			return rate, err
		}
		// Another process took the slot, or a pause is on: come back then.
		if err := sleep(ctx, max(wait, time.Millisecond)); err != nil {
			return rate, err
		}
	}
}

// tryAcquire asks the state for one call: a wait of 0 is a grant, else it
// is how long until the next slot or the end of a pause. It also says the
// pace it read.
func (g *globalBackend) tryAcquire(ctx context.Context) (time.Duration, float64, error) {
	res, err := g.acquire.Run(ctx, g.rdb, []string{g.key},
		fmtFloat(g.p.Max), fmtFloat(g.p.Min), adaptiveTTL.Milliseconds(), g.nowArg()).StringSlice()
	if err != nil {
		return 0, 0, fmt.Errorf("ratelimit: adaptive %q: %w", g.key, err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("ratelimit: adaptive %q: script answered %d values", g.key, len(res))
	}
	wait, err1 := strconv.ParseFloat(res[0], 64)
	rate, err2 := strconv.ParseFloat(res[1], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, fmt.Errorf("ratelimit: adaptive %q: %w", g.key, err)
	}
	// Rounded up, so that a refusal never reads as a grant the script did
	// not record.
	return time.Duration(math.Ceil(wait * float64(time.Millisecond))), rate, nil
}

// book books the next departure in the shared state and says how long
// until it.
func (g *globalBackend) book(ctx context.Context) (time.Duration, error) {
	res, err := g.depart.Run(ctx, g.rdb, []string{g.key},
		fmtFloat(g.p.Max), fmtFloat(g.p.Min), adaptiveTTL.Milliseconds(), g.nowArg()).Text()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: adaptive %q: %w", g.key, err)
	}
	wait, err := strconv.ParseFloat(res, 64)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: adaptive %q: %w", g.key, err)
	}
	return time.Duration(math.Ceil(wait * float64(time.Millisecond))), nil
}

func (g *globalBackend) hold() time.Duration { return g.pause.remaining() }

func (g *globalBackend) throttled(ctx context.Context, wait time.Duration, capRate float64) (float64, error) {
	g.pause.extend(wait)
	return g.report(ctx, "t", wait, capRate)
}

func (g *globalBackend) succeeded(ctx context.Context) (float64, error) {
	now := time.Now().UnixNano()
	last := g.lastReport.Load()
	if now-last < int64(reportEvery) || !g.lastReport.CompareAndSwap(last, now) {
		return 0, nil
	}
	return g.report(ctx, "s", 0, 0)
}

// report runs the feedback script.
func (g *globalBackend) report(ctx context.Context, kind string, wait time.Duration, capRate float64) (float64, error) {
	p := g.p
	res, err := g.feedback.Run(ctx, g.rdb, []string{g.key}, kind,
		fmtFloat(p.Max), fmtFloat(p.Min), fmtFloat(p.Decrease), fmtFloat(p.Increase), fmtFloat(p.Probe),
		fmtFloat(p.Margin), fmtFloat(ms(p.HoldMin)), fmtFloat(ms(p.HoldMax)), fmtFloat(ms(p.Cooldown)),
		adaptiveTTL.Milliseconds(), fmtFloat(ms(max(wait, 0))), fmtFloat(capRate), fmtFloat(p.Forget), g.nowArg()).Text()
	if err != nil {
		return 0, fmt.Errorf("ratelimit: adaptive %q: %w", g.key, err)
	}
	rate, err := strconv.ParseFloat(res, 64)
	if err != nil {
		return 0, fmt.Errorf("ratelimit: adaptive %q: %w", g.key, err)
	}
	return rate, nil
}

// fmtFloat formats a script argument so that it parses back exactly.
func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
