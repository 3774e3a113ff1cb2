package ratelimit

import (
	"math"
	"testing"
	"time"
)

// step is one report to an AIMD state at a time in ms.
type step struct {
	at      float64
	kind    byte // 't' a 429, 's' a success
	waitMS  float64
	capRate float64
}

func apply(p AIMD, s *aimdState, st step) {
	if st.kind == 't' {
		p.throttled(s, st.at, st.waitMS, st.capRate)
	} else {
		p.succeeded(s, st.at)
	}
}

// successes reports a success every everyMS from from to to.
func successes(from, to, everyMS float64) []step {
	var out []step
	for at := from; at < to; at += everyMS {
		out = append(out, step{at: at, kind: 's'})
	}
	return out
}

func TestAIMDRules(t *testing.T) {
	p := AIMD{Max: 5}.withDefaults()
	var s aimdState
	const t0 = 1_700_000_000_000.0
	run := func(steps ...step) {
		for _, st := range steps {
			apply(p, &s, st)
		}
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}

	run(successes(t0, t0+2000, 200)...)
	near("pace alone", p.current(&s), 5)

	// A 429 cuts the pace to 70 % and remembers 5 as the ceiling; echoes
	// within the cooldown (2 s) change nothing but the pause.
	run(step{at: t0 + 2000, kind: 't', waitMS: 1000})
	near("after a 429", p.current(&s), 3.5)
	run(step{at: t0 + 2500, kind: 't', waitMS: 1000})
	near("after an echo", p.current(&s), 3.5)
	near("pause", s.pause, t0+3500)
	near("ceiling", s.ceiling, 5)

	// Climbing at Max/10 per second, by elapsed time, up to 95 % of the
	// ceiling, and holding there.
	run(successes(t0+2600, t0+4000, 100)...)
	near("after 1.9 s of successes", p.current(&s), 3.5+0.5*1.9)
	run(successes(t0+4000, t0+7000, 100)...)
	near("at the hold", p.current(&s), 4.75)

	// A 429 before the hold is over shows the ceiling too high: it drops to
	// the pace of the 429, the margin and the hold double.
	run(step{at: t0 + 6500, kind: 't'})
	near("ceiling lowered", s.ceiling, 4.75)
	near("margin doubled", s.margin, 0.1)
	near("hold doubled", s.hold, 10_000)
	near("pace", p.current(&s), 4.75*0.7)
	run(successes(t0+6600, t0+16_500, 100)...)
	near("held below the ceiling", p.current(&s), 4.75*0.9)

	// After the hold a probe climbs at Max/50 per second. Failing below the
	// ceiling, it lowers the ceiling; the margin returns to 5 %.
	run(successes(t0+16_500, t0+19_500, 100)...)
	near("probing", p.current(&s), 4.75*0.9+0.1*3)
	run(step{at: t0 + 19_500, kind: 't'})
	near("ceiling after a probe failing below it", s.ceiling, 4.575)
	near("margin back", s.margin, 0.05)
	near("hold doubled again", s.hold, 20_000)
	run(successes(t0+19_600, t0+39_500, 100)...)
	near("held", p.current(&s), 4.575*0.95)

	// A probe failing above the ceiling leaves it.
	run(successes(t0+39_500, t0+44_500, 100)...)
	run(step{at: t0 + 44_500, kind: 't'})
	near("ceiling after a probe failing above it", s.ceiling, 4.575)
	near("hold", s.hold, 40_000)

	// A probe that reaches Max forgets the ceiling.
	run(successes(t0+44_600, t0+200_000, 100)...)
	if s.ceiling != 0 || p.current(&s) != 5 {
		t.Errorf("after a long quiet spell: pace %v, ceiling %v; want 5 and none", p.current(&s), s.ceiling)
	}

	// The hold is capped; a rateLimitLimit lowers ceiling and pace at once.
	s = aimdState{ceiling: 4, hold: 50_000, rate: 4, down: t0 - 60_000}
	run(step{at: t0, kind: 't', capRate: 3})
	near("capped hold", s.hold, 60_000)
	near("ceiling from rateLimitLimit", s.ceiling, 3)
	near("pace under it", p.current(&s), 2.8) // min(4 × 0.7, 3 × 0.95)

	// An idle spell counts as one second at most; the pace never drops below Min.
	s = aimdState{rate: 1, upd: t0}
	run(step{at: t0 + 3_600_000, kind: 's'})
	near("after an hour idle", p.current(&s), 1.5)
	for i := range 20 {
		run(step{at: t0 + float64(i)*10_000, kind: 't'})
	}
	near("floor", p.current(&s), 0.25)
}

func TestAIMDDefaults(t *testing.T) {
	p := AIMD{Max: 4.0 / 60, Window: time.Minute, Share: 0.5}.withDefaults()
	if p.Cooldown != 30*time.Second {
		t.Errorf("export cooldown %s, want two intervals (30 s)", p.Cooldown)
	}
	if got := p.capRate(4); math.Abs(got-2.0/60) > 1e-12 {
		t.Errorf("capRate(4 per minute) at share 0.5 = %v", got)
	}
	if p.capRate(0) != 0 {
		t.Error("capRate of an absent limit")
	}
	if !(AIMD{}).unlimited() || (AIMD{Max: 1}).unlimited() {
		t.Error("unlimited")
	}
}
