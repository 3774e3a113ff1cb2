package realkafka

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestReplayCommandLeavesTheGroupAlone runs `attrsync replay` beside a live
// group on a real broker: an identical pass sends nothing, --force from a
// point in time re-sends exactly the users changed since, --dry-run sends
// nothing, and the group's committed offsets never move.
func TestReplayCommandLeavesTheGroupAlone(t *testing.T) {
	const (
		parts = 4
		users = 120
	)
	e := newEnv(t, parts, sim.Options{BulkUpdatePerSecond: -1})
	h := testenv.History(users, 3, 31)
	e.Kafka.Produce(e.Topic, h.Msgs...)
	cfg := e.writeConfig("replay.yaml", syncConfig{bulkPerSecond: 50, maxUsers: 40})

	live := e.startProc("run", "-c", cfg)
	testenv.WaitFor(t, 60*time.Second, "the live group to catch up", func() bool { return e.caughtUp(parts) })
	if code := live.Stop(t, stopWithin); code != 0 {
		t.Fatalf("attrsync run exited %d", code)
	}
	committed := e.Kafka.Committed(e.Group(), e.Topic, parts)

	// Broker timestamps are milliseconds; step past the history's last one.
	time.Sleep(50 * time.Millisecond)
	since := time.Now().UTC()
	time.Sleep(50 * time.Millisecond)
	changed := map[string]testenv.Row{}
	var more []testenv.Row
	for u := range 7 {
		row := testenv.Clone(h.Last[strings.ToLower(userEmail(u))])
		row["first_name"] = "changed-" + strconv.Itoa(u)
		row["version"] = 100
		more = append(more, row)
		changed[strings.ToLower(userEmail(u))] = row
	}
	for u, row := range more {
		e.Kafka.Produce(e.Topic, testenv.Upsert(u, row))
	}

	replay := func(args ...string) string {
		t.Helper()
		p := e.startProc(append([]string{"replay", "-c", cfg}, args...)...)
		code, out := p.Wait(t, 90*time.Second), p.Output(t)
		if code != 0 {
			t.Fatalf("replay %v exited %d:\n%s", args, code, out)
		}
		return out
	}

	before := len(testenv.BulkRequests(e.Sim))
	out := replay("--from", "earliest", "--dry-run")
	if n := len(testenv.BulkRequests(e.Sim)) - before; n != 0 {
		t.Errorf("replay --dry-run sent %d requests", n)
	}
	if !strings.Contains(out, "dry run: nothing was written") {
		t.Errorf("the dry run's summary does not say nothing was written:\n%s", out)
	}

	// The 7 new events are newer than the state: a normal replay sends them
	// and nothing else.
	out = replay("--from", "earliest")
	if got := testenv.ReplaySummaryCount(t, out, "sent users"); got != len(changed) {
		t.Errorf("replay sent %d users, want the %d changed ones:\n%s", got, len(changed), out)
	}
	final := maps.Clone(h.Last)
	maps.Copy(final, changed)
	testenv.CheckProfiles(t, e.Sim, final)

	before = len(testenv.BulkRequests(e.Sim))
	out = replay("--from", "earliest")
	if n := len(testenv.BulkRequests(e.Sim)) - before; n != 0 || testenv.ReplaySummaryCount(t, out, "requests") != 0 {
		t.Errorf("an identical second replay sent %d requests:\n%s", n, out)
	}

	// --force from a time re-sends the users with messages since then.
	before = len(testenv.BulkRequests(e.Sim))
	out = replay("--from", since.Format(time.RFC3339Nano), "--force")
	if got := testenv.ReplaySummaryCount(t, out, "messages"); got != len(changed) {
		t.Errorf("replay --from %s read %d messages, want %d:\n%s", since.Format(time.RFC3339Nano), got, len(changed), out)
	}
	sent := 0
	for _, r := range testenv.BulkRequests(e.Sim)[before:] {
		sent += r.Users
	}
	if sent != len(changed) {
		t.Errorf("replay --force --from re-sent %d users, want %d", sent, len(changed))
	}
	testenv.CheckProfiles(t, e.Sim, final)

	if got := e.Kafka.Committed(e.Group(), e.Topic, parts); !maps.Equal(got, committed) {
		t.Errorf("replays moved the group's committed offsets from %v to %v", committed, got)
	}
}

// userEmail is the email testenv.History gives user u.
func userEmail(u int) string { return fmt.Sprintf("User%04d@Example.com", u) }
