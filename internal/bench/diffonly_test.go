//go:build diffonly

package bench

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDiffOnly runs the warm-up and the diff-path scenarios only, for
// working on the diff path without the rest of `make bench`:
//
//	USERS=100000 EVENTS=100000 [RATES=0,10,100] [ROUNDS=n] [PROF=prefix] \
//	  go test -tags diffonly -run TestDiffOnly -v -timeout 30m ./internal/bench
//
// RATES picks the change rates, in percent; ROUNDS repeats them; PROF
// writes the CPU and allocation profiles of each pipeline run (see
// startProfile). Each row is logged as the table would show it.
func TestDiffOnly(t *testing.T) {
	opts := DefaultOptions()
	if n, err := strconv.Atoi(os.Getenv("USERS")); err == nil {
		opts.Users = n
	}
	if n, err := strconv.Atoi(os.Getenv("EVENTS")); err == nil {
		opts.Events = n
	}
	opts.CPUProfile = os.Getenv("PROF")
	rates := []float64{0, 0.1, 1}
	if v := os.Getenv("RATES"); v != "" {
		rates = nil
		for _, f := range strings.Split(v, ",") {
			pct, err := strconv.Atoi(f)
			if err != nil || (pct != 0 && pct != 10 && pct != 100) {
				t.Fatalf("RATES: %q is not 0, 10 or 100", f)
			}
			rates = append(rates, float64(pct)/100)
		}
	}
	rounds, _ := strconv.Atoi(os.Getenv("ROUNDS"))
	e := benchEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	r := &runner{ctx: ctx, e: e, opts: opts, log: os.Stderr, g: newGenerator(opts.Users, opts.Seed), rows: map[string]Row{}}
	r.warmUp()
	for range max(rounds, 1) {
		for _, rate := range rates {
			r.diff(rate)
			for _, m := range []string{MetricDiff0, MetricDecodeOnly, MetricDiff10, MetricDiff100} {
				if row, ok := r.rows[m]; ok {
					t.Logf("%s: %s | %s | %s | %s", m, row.Value, row.Baseline, row.Versus, row.Notes)
					delete(r.rows, m)
				}
			}
		}
	}
	if len(r.errs) > 0 {
		t.Fatal(r.errs)
	}
}
