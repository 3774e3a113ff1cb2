package ratelimit

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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
	// One dial and no retries, so that a call to Redis fails at once rather
	// than running out a short context, which would hide whether the pause
	// below held the caller back.
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	l := NewAdaptiveGlobal(rdb, "test:aimd:down", AIMD{Max: 10})
	r.Stop()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := l.Wait(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with Redis down = %v, want a Redis error", err)
	}
	if err := l.Throttled(ctx, time.Minute, 0); err == nil {
		t.Fatal("Throttled with Redis down reported no error")
	}
	// The pause of that 429 holds this process back all the same: a Wait
	// sits it out instead of failing on Redis at once.
	short, cancelShort := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancelShort()
	if waited, err := l.Wait(short); !errors.Is(err, context.DeadlineExceeded) || waited < 150*time.Millisecond {
		t.Errorf("Wait after a 429 with Redis down: waited %s, %v; want held back until its context ended", waited, err)
	}
}

func newRedisClient(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// waitAll runs workers callers on each of procs, each waiting again as soon
// as it is granted, until window has passed. It returns when every grant
// was handed out, in order, and the errors other than the window's end.
func waitAll(ctx context.Context, procs []*Adaptive, workers int, window time.Duration) ([]time.Time, []error) {
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var (
		mu     sync.Mutex
		grants []time.Time
		errs   []error
		wg     sync.WaitGroup
	)
	for _, l := range procs {
		for range workers {
			wg.Go(func() {
				for {
					_, err := l.Wait(ctx)
					at := time.Now()
					mu.Lock()
					if err != nil {
						if !errors.Is(err, context.DeadlineExceeded) {
							errs = append(errs, err)
						}
						mu.Unlock()
						return
					}
					grants = append(grants, at)
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	slices.SortFunc(grants, func(a, b time.Time) int { return a.Compare(b) })
	return grants, errs
}

// wantWithinBudget checks grants handed out over window against a budget of
// perSecond. Real time on a shared machine: the upper bounds are the
// budget's (plus one grant for where the window's edges fall, and one for a
// grant whose answer arrived late); the lower bound only shows the budget
// was used at all.
func wantWithinBudget(t *testing.T, grants []time.Time, perSecond float64, window time.Duration) {
	t.Helper()
	most := int(perSecond*window.Seconds()) + 2
	if n := len(grants); n > most || n < most/2 {
		t.Errorf("%d grants in %s at %g/s, want %d..%d", n, window, perSecond, most/2, most)
	}
	// At most three grants fit in 250 ms at 10/s; a fifth would be a burst.
	span := time.Duration(2.5 * float64(time.Second) / perSecond)
	for i := range grants {
		in := 0
		for j := i; j < len(grants) && grants[j].Sub(grants[i]) < span; j++ {
			in++
		}
		if in > 4 {
			t.Fatalf("%d grants within %s from grant %d: a burst above %g/s", in, span, i, perSecond)
		}
	}
}

// TestAdaptiveGlobalSharedBudget runs three limiters on separate clients,
// as three processes would, with two callers each, on one state at 10/s.
func TestAdaptiveGlobalSharedBudget(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	var procs []*Adaptive
	for range 3 {
		procs = append(procs, NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:budget", AIMD{Max: 10}))
	}
	grants, errs := waitAll(t.Context(), procs, 2, 1500*time.Millisecond)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	wantWithinBudget(t, grants, 10, 1500*time.Millisecond)
}

// TestAdaptiveGlobalGrantsOneAtATime runs the acquire script on a clock the
// test sets, so the pacing of the shared state is checked exactly: a burst
// of one, a fractional rate kept to the millisecond, a late caller pushing
// the next slot back, and a 429's pause.
func TestAdaptiveGlobalGrantsOneAtATime(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	const t0 = 1_700_000_000_000.0
	var now float64
	p := AIMD{Max: 2.5}.withDefaults() // one every 400 ms
	g := &globalBackend{rdb: newRedisClient(t, r.Addr), key: "test:aimd:acquire", p: p,
		acquire: redis.NewScript(acquireScript), feedback: redis.NewScript(feedbackScript),
		now: func() float64 { return now }}
	for _, st := range []struct {
		at   float64
		wait time.Duration
		why  string
	}{
		{0, 0, "the first call"},
		{0, 400 * time.Millisecond, "a second call at the same instant"},
		{399, time.Millisecond, "a call a millisecond early"},
		{400, 0, "a call on time"},
		{950, 0, "a call 150 ms late"},
		{1000, 350 * time.Millisecond, "the next, 400 ms after the late one"},
		{1350, 0, "the next, on time"},
	} {
		now = t0 + st.at
		wait, rate, err := g.tryAcquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if wait != st.wait || rate != 2.5 {
			t.Errorf("%s (+%.0f ms): wait %s at %v/s, want %s at 2.5/s", st.why, st.at, wait, rate, st.wait)
		}
	}
	// A 429 at +1400 asking for a second pauses every caller until +2400.
	now = t0 + 1400
	if _, err := g.report(t.Context(), "t", time.Second, 0); err != nil {
		t.Fatal(err)
	}
	now = t0 + 2000
	if wait, _, err := g.tryAcquire(t.Context()); err != nil || wait != 400*time.Millisecond {
		t.Errorf("during the pause: wait %s (%v), want 400ms", wait, err)
	}
	now = t0 + 2400
	if wait, rate, err := g.tryAcquire(t.Context()); err != nil || wait != 0 || rate != 1.75 {
		t.Errorf("after the pause: wait %s at %v/s (%v), want a grant at 1.75/s", wait, rate, err)
	}
}

// TestAdaptiveGlobalFractionalRate paces at 2.5/s in real time: grants come
// 400 ms apart, not rounded to a whole rate.
func TestAdaptiveGlobalFractionalRate(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	l := NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:fraction", AIMD{Max: 2.5})
	grants, errs := waitAll(t.Context(), []*Adaptive{l}, 1, 1300*time.Millisecond)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	// Grants at 0, 400, 800, 1200 ms; a late one may push the last out.
	if n := len(grants); n < 3 || n > 4 {
		t.Errorf("%d grants in 1.3 s at 2.5/s, want 3 or 4", n)
	}
	// 370 ms leaves room for when this goroutine reads the clock, and is
	// still well above 3/s (333 ms).
	for i := 1; i < len(grants); i++ {
		if gap := grants[i].Sub(grants[i-1]); gap < 370*time.Millisecond {
			t.Errorf("grants %d and %d %s apart at 2.5/s, want 400ms", i-1, i, gap)
		}
	}
}

// TestAdaptiveGlobal429HoldsOthersBack checks that a 429 one process hears
// pauses a process that heard none, and that a shorter pause another
// process reports does not cut it short.
func TestAdaptiveGlobal429HoldsOthersBack(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	var procs []*Adaptive
	for range 3 {
		procs = append(procs, NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:hold", AIMD{Max: 1000}))
	}
	if err := procs[0].Throttled(t.Context(), 300*time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	if err := procs[1].Throttled(t.Context(), time.Millisecond, 0); err != nil {
		t.Fatal(err)
	}
	waited, err := procs[2].Wait(t.Context())
	if err != nil || waited < 200*time.Millisecond {
		t.Fatalf("the third process waited %s (%v) after a 429 asking for 300 ms, then one for 1 ms", waited, err)
	}
}

func TestAdaptiveGlobalHonoursContext(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	a := NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:cancel", AIMD{Max: 10})
	b := NewAdaptiveGlobal(newRedisClient(t, r.Addr), "test:aimd:cancel", AIMD{Max: 10})
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait on a cancelled context = %v, want context.Canceled", err)
	}
	// b waits out a's pause in its grant loop, and gives up when cancelled.
	if err := a.Throttled(t.Context(), time.Minute, 0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	waited, err := b.Wait(ctx)
	if !errors.Is(err, context.Canceled) || waited > 30*time.Second {
		t.Fatalf("Wait cancelled during another process's pause: waited %s, %v; want context.Canceled at once", waited, err)
	}
}

// TestAdaptiveGlobalUnlimited never reaches Redis: its client is nil.
func TestAdaptiveGlobalUnlimited(t *testing.T) {
	t.Parallel()
	l := NewAdaptiveGlobal(nil, "test:aimd:unlimited", AIMD{})
	for range 1000 {
		if d, err := l.Wait(t.Context()); err != nil || d != 0 {
			t.Fatalf("unlimited Wait = %s, %v", d, err)
		}
	}
	if err := l.Succeeded(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(l.Rate(), 1) || l.String() != "global (key test:aimd:unlimited) unlimited" {
		t.Errorf("unlimited: %v, %s", l.Rate(), l)
	}
}

func TestNewAdaptive(t *testing.T) {
	t.Parallel()
	r := testenv.StartRedis(t)
	rdb := newRedisClient(t, r.Addr)
	cfg := Config{BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 0.8, Scope: ScopeGlobal}
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
	local.Scope = ScopeLocal
	l, err := NewAdaptive(local, nil, "users", "attrsync", budgets[BudgetBulkUpdate])
	if err != nil || l.String() != "local adaptive 4/s of 4/s" {
		t.Errorf("local: %v, %v", l, err)
	}
	for name, c := range map[string]struct {
		cfg Config
		rdb redis.UniversalClient
		b   Budget
	}{
		"zero share":          {Config{Share: 0, Scope: ScopeLocal}, nil, budgets[BudgetBulkUpdate]},
		"zero limit":          {local, nil, Budget{Name: "x", Window: time.Second}},
		"bad scope":           {Config{Share: 1, Scope: "cluster"}, nil, budgets[BudgetBulkUpdate]},
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
