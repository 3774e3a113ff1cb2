package bench

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

func (r *runner) warmUp() {
	defer r.step("warm-up: sync %s users into Redis", thousands(int64(r.opts.Users)))()
	cfg, err := syncSpec{
		brokers: r.e.brokers, topic: warmTopic, group: "bench-warm", redisURL: r.e.redis.URL,
		iterURL: "http://127.0.0.1:1", bulkPerSecond: 5, scope: "local", maxWait: time.Second,
	}.config()
	var m memoryResult
	if err == nil {
		m, err = warmState(r.ctx, r.e, r.g, cfg)
	}
	if err != nil {
		r.fail(fmt.Errorf("warm-up: %w", err), MetricMemory)
		return
	}
	r.warm = true
	per := m.perUser()
	r.set(Row{
		Metric: MetricMemory, Value: fmt.Sprintf("%.1f B", per),
		Baseline: fmt.Sprintf("%d B budget", memoryBudget),
		Versus:   fmt.Sprintf("%.0f %% of budget", 100*per/memoryBudget),
		Notes: fmt.Sprintf("INFO used_memory +%s over %s users, %d attributes each; bucket hashes %s",
			mib((m.after-m.before)/1024), thousands(int64(m.users)), attributeCount, m.bucketFormat),
	})
	r.rss.observe()
}

func (r *runner) diff(rate float64) {
	metric := map[float64]string{0: MetricDiff0, 0.1: MetricDiff10, 1: MetricDiff100}[rate]
	defer r.step("diff path at %.0f %% change: %s events", 100*rate, thousands(int64(r.opts.Events)))()
	if !r.warm {
		r.fail(errors.New("no warm state (warm-up failed)"), metric)
		return
	}
	d, err := diffPath(r.ctx, r.e, r.g, r.opts, &r.rss, rate)
	if err != nil {
		r.fail(fmt.Errorf("diff path %.0f %%: %w", 100*rate, err), metric)
		return
	}
	r.barePeak = max(r.barePeak, d.bareRSS)
	pipe, bare := d.pipe.perSecond(), d.bare.perSecond()
	pipeCPU, bareCPU := d.pipe.microsPerEvent(), d.bare.microsPerEvent()
	r.set(Row{
		Metric: metric, Value: fmt.Sprintf("%s events/s", thousands(int64(pipe))),
		Baseline: fmt.Sprintf("%s events/s bare kafka-go", thousands(int64(bare))),
		Versus:   fmt.Sprintf("%.2f×", pipe/bare),
		Notes: fmt.Sprintf("%s users sent in %d requests; cores busy: pipeline run %s, bare %s; CPU an event: %s µs, bare %s µs",
			thousands(d.accepted), d.requests, d.pipe.busy.format(true), d.bare.busy.format(false), pipeCPU.format(true), bareCPU.format(false)),
	})
	if d.floor.events > 0 {
		floor := d.floor.perSecond()
		r.set(Row{
			Metric: MetricDecodeOnly, Value: fmt.Sprintf("%s events/s", thousands(int64(floor))),
			Baseline: fmt.Sprintf("%s events/s bare kafka-go", thousands(int64(bare))),
			Versus:   fmt.Sprintf("%.2f×", floor/bare),
			Notes: fmt.Sprintf("attrsync's fetching, then each message decoded, mapped and finished: no diff, no Redis; cores busy %s; CPU an event %s µs, bare %s µs; the diff path ran at %.2f× of this",
				d.floor.busy.format(false), d.floor.microsPerEvent().format(false), bareCPU.format(false), pipe/floor),
		})
	}
}

func (r *runner) write(instances int, metric string) {
	defer r.step("write path, %d instance(s), %s window", instances, r.opts.WriteWindow)()
	w, err := writePath(r.ctx, r.e, r.opts, instances)
	r.rss.observe()
	if err != nil {
		r.fail(fmt.Errorf("write path, %d instances: %w", instances, err), metric)
		return
	}
	ups := w.usersPerSecond()
	r.set(Row{
		Metric: metric, Value: fmt.Sprintf("%s users/s", thousands(int64(ups))),
		Baseline: fmt.Sprintf("%s users/s (5 req/s × 1000)", thousands(theoreticalUsersPerSecond)),
		Versus:   fmt.Sprintf("%.1f %%", 100*ups/theoreticalUsersPerSecond),
		Notes: fmt.Sprintf("429s received: %d%s; %d requests accepted in the %.1f s window, which opened %.1f s after start (group join, then the backlog produced)",
			w.tooMany, tooManyWhen(w.tooManyAt), w.requests, w.window.Seconds(), w.joined.Seconds()),
	})
}

// tooManyWhen says when 429s came, from the start of the instances.
func tooManyWhen(at []time.Duration) string {
	if len(at) == 0 {
		return ""
	}
	s := make([]string, len(at))
	for i, d := range at {
		s[i] = fmt.Sprintf("%.2f s", d.Seconds())
	}
	return " (at " + strings.Join(s, ", ") + " after start)"
}

func (r *runner) live() {
	defer r.step("end-to-end delay: %d events/s for %s", r.opts.LiveRate, r.opts.LiveDuration)()
	d, err := liveDelay(r.ctx, r.e, r.g, r.opts)
	r.rss.observe()
	if err != nil {
		r.fail(fmt.Errorf("end-to-end delay: %w", err), MetricDelayP50, MetricDelayP99)
		return
	}
	notes := fmt.Sprintf("source ts_ms → Iterable 200, %s events at %s/s, 5 req/s enforced, max_wait 1s",
		thousands(int64(d.events)), thousands(int64(d.rate)))
	for _, q := range []struct {
		metric     string
		pipe, bare time.Duration
	}{
		{MetricDelayP50, d.pipe.p50, d.bare.p50},
		{MetricDelayP99, d.pipe.p99, d.bare.p99},
	} {
		r.set(Row{
			Metric: q.metric, Value: ms(q.pipe), Baseline: ms(q.bare) + " bare kafka-go arrival",
			Versus: "+" + ms(q.pipe-q.bare), Notes: notes,
		})
	}
}

func (r *runner) peakRSS() {
	r.rss.observe()
	overall := r.rss.overall
	row := Row{Metric: MetricPeakRSS, Value: mib(overall),
		Notes: "whole run; the simulator runs in-process"}
	if r.e.kafka != nil {
		row.Notes += ", and kfake holds each scenario's topic in this process"
	}
	if r.barePeak > 0 {
		row.Baseline = mib(r.barePeak) + " peak while bare kafka-go read"
		row.Versus = "+" + mib(overall-r.barePeak)
	} else {
		row.Baseline, row.Versus = "n/a (VmHWM cannot be reset here)", "-"
	}
	r.set(row)
}

// ms formats a duration in milliseconds.
func ms(d time.Duration) string {
	return fmt.Sprintf("%s ms", thousands(d.Round(time.Millisecond).Milliseconds()))
}
