package ratelimit

import (
	"math"
	"time"
)

// AIMD tunes adaptive pacing. Zero fields take the defaults documented on
// each, derived from Max; only Max is required.
//
// The pace starts at Max (share × Iterable's limit). A 429 that arrives
// although attrsync kept to that pace means another client uses the same
// project's quota: the pace is multiplied by Decrease, and the pace at which
// the 429 came is remembered as a ceiling (see throttled for how later 429s
// move it and the margin below it).
// Successes then raise the pace additively, quickly (Increase) up to the
// margin below the ceiling, where it holds; after the hold it probes higher
// slowly (Probe). A probe that
// gets Forget past the ceiling (or to Max) without a 429 shows the quota has
// grown back (the other client stopped): the ceiling is forgotten and the
// pace climbs quickly to Max. A 429 while a ceiling is remembered doubles the hold, so a
// pace that has found what the other clients leave probes ever more rarely,
// up to every HoldMax. Increases are by elapsed time, not by count of
// successes, so any number of instances sharing one state climb together at
// the same speed.
type AIMD struct {
	// Max is the highest pace, requests per second; ≤ 0 means unlimited.
	Max float64
	// Min is the lowest pace; default Max/20.
	Min float64
	// Decrease multiplies the pace on a 429; default 0.7.
	Decrease float64
	// Increase is how fast the pace climbs below the ceiling, requests per
	// second per second; default Max/10 (half the range in 5 s).
	Increase float64
	// Probe is how fast it climbs past the hold; default Max/50.
	Probe float64
	// Margin is how far below the ceiling the pace holds once the ceiling
	// has proved right; default 0.05. It doubles on each 429 that shows the
	// ceiling too high, up to 1 − Decrease.
	Margin float64
	// Forget is how far past the ceiling a probe must get without a 429 for
	// the ceiling to be forgotten; default 0.2.
	Forget float64
	// HoldMin and HoldMax bound how long the pace holds below a ceiling
	// after a 429 before probing; defaults 5 s and 60 s.
	HoldMin, HoldMax time.Duration
	// Cooldown is how long after a decrease further 429s are taken as
	// echoes of the same overload (requests already in flight, other
	// instances) rather than new news; default the longer of 2 s and two
	// intervals at Max.
	Cooldown time.Duration
	// Window is the period Iterable states the limit over, used to read a
	// 429's rateLimitLimit; default a second (a minute for the export).
	Window time.Duration
	// Share is the fraction of the limit this sync may use, applied to a
	// 429's rateLimitLimit as it is to the configured limit; default 1.
	Share float64
}

// withDefaults fills the zero fields.
func (p AIMD) withDefaults() AIMD {
	or := func(v, def float64) float64 {
		if v <= 0 {
			return def
		}
		return v
	}
	p.Min = or(p.Min, p.Max/20)
	p.Decrease = or(p.Decrease, 0.7)
	p.Increase = or(p.Increase, p.Max/10)
	p.Probe = or(p.Probe, p.Max/50)
	p.Margin = or(p.Margin, 0.05)
	p.Forget = or(p.Forget, 0.2)
	if p.HoldMin <= 0 {
		p.HoldMin = 5 * time.Second
	}
	if p.HoldMax <= 0 {
		p.HoldMax = 60 * time.Second
	}
	p.HoldMax = max(p.HoldMax, p.HoldMin)
	if p.Cooldown <= 0 && p.Max > 0 {
		p.Cooldown = max(2*time.Second, time.Duration(2*float64(time.Second)/p.Max))
	}
	if p.Window <= 0 {
		p.Window = time.Second
	}
	p.Share = or(p.Share, 1)
	return p
}

// unlimited reports whether p paces nothing.
func (p AIMD) unlimited() bool {
	return p.Max <= 0 || math.IsInf(p.Max, 1) || math.IsNaN(p.Max)
}

// capRate turns a 429's rateLimitLimit into a pace: this sync's share of
// that many requests per Window; 0 when limit is unknown.
func (p AIMD) capRate(limit int) float64 {
	if limit <= 0 {
		return 0
	}
	return p.Share * float64(limit) / p.Window.Seconds()
}

// aimdState is the adaptive state of one budget. Times are Unix
// milliseconds as float64 (0: never), exactly as the Redis script keeps
// them, so that the local and the global limiter make the same decisions;
// TestAdaptiveGlobalMatchesLocal checks the two against each other.
type aimdState struct {
	rate    float64 // current pace; 0 means not set yet (Max)
	ceiling float64 // estimate of the quota left to us; 0 means none
	margin  float64 // how far below the ceiling to hold; 0 means Margin
	hold    float64 // ms to hold below the ceiling after a decrease
	down    float64 // last decrease
	upd     float64 // last increase step
	pause   float64 // no request before this
}

// maxStep bounds the time one success may count for: after an idle spell
// the pace says nothing about the quota, so it must not jump.
const maxStep = 1000.0 // ms

// current is the pace in force.
func (p AIMD) current(s *aimdState) float64 {
	r := s.rate
	if r <= 0 {
		r = p.Max
	}
	return math.Min(p.Max, math.Max(p.Min, r))
}

// margin is the margin in force.
func (p AIMD) margin(s *aimdState) float64 {
	if s.margin > 0 {
		return s.margin
	}
	return p.Margin
}

// throttled applies a 429 received at now that asked to wait waitMS and
// reported a limit worth capRate (0: none).
//
// A 429 before the hold is over (while climbing back, or holding) shows
// the ceiling was too high: a 429 comes some time after the pace passed the
// quota, so the pace it came at overstates it. The ceiling drops to that
// pace and the margin doubles, up to 1 − Decrease, so repeated misses
// converge quickly. A 429 after the hold is a failed probe: the pace held
// below the ceiling for a whole hold was fine, so the margin returns to
// Margin, and the ceiling drops only if the probe failed below it.
func (p AIMD) throttled(s *aimdState, now, waitMS, capRate float64) {
	rate := p.current(s)
	s.pause = math.Max(s.pause, now+waitMS)
	if s.down == 0 || now-s.down >= ms(p.Cooldown) {
		doubled := math.Min(math.Max(s.hold, ms(p.HoldMin))*2, ms(p.HoldMax))
		switch {
		case s.ceiling == 0:
			s.ceiling, s.margin, s.hold = rate, p.Margin, ms(p.HoldMin)
		case now-s.down >= s.hold:
			s.ceiling, s.margin, s.hold = math.Min(s.ceiling, rate), p.Margin, doubled
		default:
			s.ceiling, s.margin, s.hold = rate, math.Min(p.margin(s)*2, 1-p.Decrease), doubled
		}
		rate = math.Max(p.Min, rate*p.Decrease)
		s.down, s.upd = now, now
	}
	if capRate > 0 {
		if s.ceiling == 0 || capRate < s.ceiling {
			s.ceiling = capRate
		}
		rate = math.Max(p.Min, math.Min(rate, capRate*(1-p.margin(s))))
	}
	s.rate = rate
}

// succeeded applies an answer at now that got through the rate limit.
func (p AIMD) succeeded(s *aimdState, now float64) {
	rate := p.current(s)
	dt := 0.0
	if s.upd > 0 {
		dt = math.Max(0, math.Min(now-s.upd, maxStep))
	}
	s.upd = now
	target := s.ceiling * (1 - p.margin(s))
	switch {
	case dt == 0:
	case s.ceiling == 0:
		rate = math.Min(p.Max, rate+p.Increase*dt/1000)
	case rate < target:
		rate = math.Min(target, rate+p.Increase*dt/1000)
	case now-s.down >= s.hold:
		rate = math.Min(p.Max, rate+p.Probe*dt/1000)
		// At Max with a ceiling below it, the probe is over too; a ceiling
		// at Max (the first 429 came at full pace) is not passed by
		// reaching Max again.
		if rate > s.ceiling*(1+p.Forget) || (rate >= p.Max && s.ceiling < p.Max) {
			s.ceiling = 0
		}
	}
	s.rate = rate
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// unixMS is t as Unix milliseconds.
func unixMS(t time.Time) float64 { return float64(t.UnixMicro()) / 1000 }
