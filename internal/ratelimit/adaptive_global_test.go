package ratelimit

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestAdaptiveGlobalMatchesLocal feeds the same reports, at the same
// instants, to the Go rules and to the Redis script, and compares the state
// after each: the global limiter decides exactly as the local one.
func TestAdaptiveGlobalMatchesLocal(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	rdb := newRedisClient(t, r.Addr)
	p := AIMD{Max: 5, HoldMin: 2 * time.Second, HoldMax: 8 * time.Second}.withDefaults()
	const t0 = 1_700_000_000_000.0
	var now float64
	g := &globalBackend{rdb: rdb, key: "test:aimd:conformance", p: p,
		acquire: redis.NewScript(acquireScript), feedback: redis.NewScript(feedbackScript),
		now: func() float64 { return now }}

	// Successes every 100 ms, a 429 every 1.7 s for 20 s (some within the
	// cooldown, some carrying a limit), then 40 s of successes.
	var steps []step
	for i := 0; i < 600; i++ {
		at := t0 + float64(i)*100
		switch {
		case i < 200 && i%17 == 0:
			st := step{at: at, kind: 't', waitMS: float64(i % 3 * 500)}
			if i%51 == 0 {
				st.capRate = 4
			}
			steps = append(steps, st)
		default:
			steps = append(steps, step{at: at, kind: 's'})
		}
	}
	var local aimdState
	for i, st := range steps {
		apply(p, &local, st)
		now = st.at
		var got float64
		var err error
		if st.kind == 't' {
			got, err = g.report(t.Context(), "t", time.Duration(st.waitMS*float64(time.Millisecond)), st.capRate)
		} else {
			got, err = g.report(t.Context(), "s", 0, 0)
		}
		if err != nil {
			t.Fatal(err)
		}
		h, err := rdb.HGetAll(t.Context(), g.key).Result()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]float64{"rate": local.rate, "ceiling": local.ceiling, "margin": local.margin, "hold": local.hold,
			"down": local.down, "upd": local.upd, "pause": local.pause}
		for field, w := range want {
			v, _ := strconv.ParseFloat(h[field], 64)
			if math.Abs(v-w) > 1e-9*math.Max(1, math.Abs(w)) {
				t.Fatalf("step %d (%c at +%.0f ms): %s = %v in Redis, %v in Go", i, st.kind, st.at-t0, field, v, w)
			}
		}
		if math.Abs(got-p.current(&local)) > 1e-9 {
			t.Fatalf("step %d: script answered pace %v, Go %v", i, got, p.current(&local))
		}
	}
	if local.ceiling != 0 || p.current(&local) != 5 {
		t.Errorf("the sequence should end back at full pace: %+v", local)
	}
}

// TestAdaptiveGlobalIsShared checks that two processes share one state: a
// 429 one of them hears slows and pauses the other.
func TestAdaptiveGlobalIsShared(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	a := NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:shared", AIMD{Max: 100})
	b := NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:shared", AIMD{Max: 100})
	if _, err := b.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := a.Throttled(t.Context(), 300*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if a.Rate() != 70 {
		t.Errorf("a's pace after its 429: %v, want 70", a.Rate())
	}
	waited, err := b.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if waited < 200*time.Millisecond || b.Rate() != 70 {
		t.Errorf("b waited %s at pace %v after a's 429 (300 ms pause, pace 70)", waited, b.Rate())
	}
	// Successes from both climb one shared pace.
	time.Sleep(150 * time.Millisecond)
	if err := b.Succeeded(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := b.Rate(); r <= 70 || r > 100 {
		t.Errorf("b's pace after a success: %v", r)
	}
	if s := a.String(); s != "global (key test:aimd:shared) adaptive 70/s of 100/s" {
		t.Errorf("String() = %q", s)
	}
}

func TestAdaptiveGlobalRedisDown(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	l := NewAdaptiveGlobal(rdb, "test:aimd:down", AIMD{Max: 10})
	r.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := l.Wait(ctx); err == nil {
		t.Fatal("Wait with Redis down succeeded")
	}
	if err := l.Throttled(ctx, time.Minute, 0); err == nil {
		t.Fatal("Throttled with Redis down reported no error")
	}
	if l.be.hold() < 50*time.Second {
		t.Error("the pause of a 429 is not kept locally while Redis is down")
	}
}

func TestNewAdaptive(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	rdb := newRedisClient(t, r.Addr)
	cfg := config.RateLimit{BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 0.8, Scope: "global"}
	budgets := Budgets(cfg)
	for name, want := range map[string]string{
		BudgetBulkUpdate:  "global (key attrsync:users:ratelimit:bulkUpdate:aimd) adaptive 4/s of 4/s",
		BudgetLookup:      "global (key attrsync:users:ratelimit:lookup:aimd) adaptive 80/s of 80/s",
		BudgetGetFields:   "global (key attrsync:users:ratelimit:getFields:aimd) adaptive 2.4/s of 2.4/s",
		BudgetDelete:      "global (key attrsync:users:ratelimit:delete:aimd) adaptive 80/s of 80/s",
		BudgetUpdateEmail: "global (key attrsync:users:ratelimit:updateEmail:aimd) adaptive 8/s of 8/s",
		BudgetExport:      "global (key attrsync:users:ratelimit:export:aimd) adaptive 0.0533/s of 0.0533/s",
	} {
		l, err := NewAdaptive(cfg, rdb, "users", "attrsync", budgets[name])
		if err != nil {
			t.Fatal(err)
		}
		if got := l.String(); got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	local := cfg
	local.Scope = "local"
	l, err := NewAdaptive(local, nil, "users", "attrsync", budgets[BudgetBulkUpdate])
	if err != nil || l.String() != "local adaptive 4/s of 4/s" {
		t.Errorf("local: %v, %v", l, err)
	}
	for name, c := range map[string]struct {
		cfg config.RateLimit
		rdb redis.UniversalClient
		b   Budget
	}{
		"zero share":          {config.RateLimit{Share: 0, Scope: "local"}, nil, budgets[BudgetBulkUpdate]},
		"zero limit":          {local, nil, Budget{Name: "x", Window: time.Second}},
		"bad scope":           {config.RateLimit{Share: 1, Scope: "cluster"}, nil, budgets[BudgetBulkUpdate]},
		"global without rdb":  {cfg, nil, budgets[BudgetBulkUpdate]},
		"window of no length": {local, nil, Budget{Name: "x", Limit: 1}},
	} {
		if _, err := NewAdaptive(c.cfg, c.rdb, "users", "attrsync", c.b); err == nil {
			t.Errorf("%s: NewAdaptive succeeded", name)
		}
	}
	if l := NewAdaptiveLocal(AIMD{}); l.Rate() != math.Inf(1) || l.String() != "local unlimited" {
		t.Errorf("unlimited: %v %s", l.Rate(), l)
	}
}
