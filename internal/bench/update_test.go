//go:build !race

package bench

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestUpdateModeRows runs the update-mode drain with and without priming
// and checks what the rows report: the primed drain completes with no
// lookup, the unprimed one looks every user up. BENCH_UPDATE_USERS sets the
// backlog (default QuickOptions', 10,000) and logs the figures.
func TestUpdateModeRows(t *testing.T) {
	if testing.Short() {
		t.Skip("starts redis-server and a broker")
	}
	opts := QuickOptions()
	if n, err := strconv.Atoi(os.Getenv("BENCH_UPDATE_USERS")); err == nil && n > 0 {
		opts.Users, opts.WriteWindow = n, DefaultOptions().WriteWindow
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	e, err := startEnv(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	n := updateBacklog(opts)
	for _, primed := range []bool{false, true} {
		u, err := updateDrain(ctx, e, opts, n, primed)
		if err != nil {
			t.Fatalf("primed %v: %v", primed, err)
		}
		t.Logf("primed %v: %d users, %d finished, %d lookups, %.1f s measured, %.1f s for the backlog (complete %v)",
			primed, u.users, u.finished, u.lookups, u.took.Seconds(), u.projected().Seconds(), u.complete)
		switch {
		case primed && (u.lookups != 0 || !u.complete):
			t.Errorf("primed drain: %d lookups, complete %v; want none and the whole backlog", u.lookups, u.complete)
		case !primed && int64(u.lookups) < u.finished:
			t.Errorf("unprimed drain: %d lookups for %d users finished; want one per user", u.lookups, u.finished)
		}
	}
}
