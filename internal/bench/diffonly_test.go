//go:build diffonly

package bench

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestDiffOnly runs the warm-up and the diff-path scenarios only, for
// working on the diff path without the rest of `make bench`:
//
//	USERS=100000 EVENTS=100000 [ZERO=1] [ROUNDS=n] [PROF=prefix] \
//	  go test -tags diffonly -run TestDiffOnly -v -timeout 30m ./internal/bench
//
// ZERO=1 runs the 0 % scenario alone; ROUNDS repeats the scenarios; PROF
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
	if os.Getenv("ZERO") != "" {
		rates = rates[:1]
	}
	rounds, _ := strconv.Atoi(os.Getenv("ROUNDS"))
	e, err := startEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	r := &runner{ctx: ctx, e: e, opts: opts, log: os.Stderr, g: newGenerator(opts.Users, opts.Seed), rows: map[string]Row{}}
	r.warmUp()
	for range max(rounds, 1) {
		for _, rate := range rates {
			r.diff(rate)
			for _, m := range []string{MetricDiff0, MetricDiff10, MetricDiff100} {
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
