package cli

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

func TestReplayRefusesBadFrom(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "-c", "x.yaml"},
		{"replay", "-c", "x.yaml", "--from", "yesterday"},
		{"replay", "-c", "x.yaml", "--from", "2025-01-31"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(args, &out, &errOut); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if !strings.Contains(errOut.String(), "RFC 3339") {
			t.Errorf("%v: the error does not say what --from takes:\n%s", args, errOut.String())
		}
	}
}

func TestProgressBar(t *testing.T) {
	got := bar(50, 100, 10, 3, 1500*time.Millisecond)
	if want := "[#####     ]  50% 50/100 messages, 3 requests, 1.5s"; got != want {
		t.Errorf("bar = %q, want %q", got, want)
	}
	if got := bar(7, 0, 4, 0, 0); !strings.HasPrefix(got, "[####] 100%") {
		t.Errorf("an empty replay shows %q, want a full bar", got)
	}
}

// TestReplayCommand runs `attrsync replay` in process against the
// in-process broker: a dry run writes nothing, a first pass syncs every
// user, an identical second pass sends nothing, and --force re-sends all.
func TestReplayCommand(t *testing.T) {
	const topic = "app.public.users"
	k := testenv.StartKafka(t, 3, topic)
	r := testenv.StartRedis(t)
	s := sim.New(sim.Options{APIKey: "cli-key-0123456789", VersionField: "version", BulkUpdatePerSecond: -1})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	h := testenv.History(80, 3, 5)
	k.Produce(topic, h.Msgs...)
	path := writeFile(t, fmt.Sprintf(`sync: {name: clireplay}
kafka: {brokers: [%q], topics: [%q]}
redis: {url: %q}
iterable:
  base_url: %q
  api_key: cli-key-0123456789
`+testenv.StreamMapping+`batch: {max_users: 25, max_wait: 20ms}
rate_limit: {bulk_update_per_second: 100, scope: local}
telemetry: {log_level: warn}
`, k.Brokers[0], topic, r.URL, srv.URL))

	replay := func(extra ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		args := append([]string{"replay", "-c", path, "--from", "earliest"}, extra...)
		if code := Main(args, &out, &errOut); code != exitOK {
			t.Fatalf("%v: exit %d\n%s%s", extra, code, out.String(), errOut.String())
		}
		if !strings.Contains(errOut.String(), fmt.Sprintf("%d/%d messages (100%%)", len(h.Msgs), len(h.Msgs))) {
			t.Errorf("%v: no final progress line on stderr:\n%s", extra, errOut.String())
		}
		return out.String()
	}

	sum := replay("--dry-run")
	if n := len(s.Requests()); n != 0 {
		t.Fatalf("a dry run made %d Iterable calls", n)
	}
	if !strings.Contains(sum, "dry run") || testenv.ReplaySummaryCount(t, sum, "messages") != len(h.Msgs) {
		t.Errorf("dry-run summary:\n%s", sum)
	}

	sum = replay()
	if testenv.ReplaySummaryCount(t, sum, "requests") == 0 || testenv.ReplaySummaryCount(t, sum, "sent users") < len(h.Last) {
		t.Errorf("the first replay sent too little:\n%s", sum)
	}
	testenv.CheckProfiles(t, s, h.Last)

	before := len(testenv.BulkRequests(s))
	sum = replay()
	if got := len(testenv.BulkRequests(s)) - before; got != 0 || testenv.ReplaySummaryCount(t, sum, "requests") != 0 {
		t.Errorf("an identical second replay made %d requests:\n%s", got, sum)
	}
	if testenv.ReplaySummaryCount(t, sum, "sent users") != 0 || testenv.ReplaySummaryCount(t, sum, "stale messages") == 0 {
		t.Errorf("the second replay should send no user and find messages stale:\n%s", sum)
	}

	sum = replay("--force")
	if testenv.ReplaySummaryCount(t, sum, "sent users") < len(h.Last) {
		t.Errorf("--force re-sent fewer than all %d users:\n%s", len(h.Last), sum)
	}
	testenv.CheckProfiles(t, s, h.Last)
}
