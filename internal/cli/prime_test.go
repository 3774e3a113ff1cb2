package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestPrimeCommand primes from a simulated project, then again after a user
// was added: the second run resumes and asks only for what is new.
func TestPrimeCommand(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{APIKey: opsKey, ExportPerMinute: -1})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	r := testenv.StartRedis(t)
	for i := range 1500 {
		if err := s.SeedUser(fmt.Sprintf("Prime%d@Example.com", i), "", nil); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeFile(t, fmt.Sprintf(`
sync: {name: primed}
kafka: {brokers: ["127.0.0.1:1"], topics: [users]}
redis: {url: %q}
iterable:
  base_url: %q
  api_key: %q
  mode: update
`+testenv.StreamMapping+`rate_limit: {scope: local}
`, r.URL, srv.URL, opsKey))
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	// A run exports up to the start of its current second; the users above
	// were created in it.
	time.Sleep(1100 * time.Millisecond)

	var stdout, stderr bytes.Buffer
	if code := Main([]string{"prime", "-c", cfg, "--since", since}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, &stdout, &stderr)
	}
	if !strings.Contains(stdout.String(), "primed 1500 users of sync \"primed\"") || !strings.Contains(stderr.String(), "prime: [") {
		t.Errorf("stdout: %s\nstderr: %s", &stdout, &stderr)
	}
	if strings.Contains(stderr.String(), "prime1@example.com") {
		t.Error("an identifier was logged")
	}

	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	set, err := state.NewExistence(context.Background(), rdb, "attrsync", "primed")
	if err != nil {
		t.Fatal(err)
	}
	got, err := set.Exists(context.Background(), []change.Identifier{
		{Kind: change.Email, Value: "prime0@example.com"}, {Kind: change.Email, Value: "prime1499@example.com"}})
	if err != nil || !got[0] || !got[1] {
		t.Errorf("primed users not in the set: %v, %v", got, err)
	}

	if err := s.SeedUser("late@example.com", "", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	stdout.Reset()
	stderr.Reset()
	if code := Main([]string{"prime", "-c", cfg}, &stdout, &stderr); code != exitOK {
		t.Fatalf("second run: exit %d\n%s", code, &stderr)
	}
	if !strings.Contains(stdout.String(), "primed 1501 users") || !strings.Contains(stdout.String(), "resuming an earlier run") ||
		!strings.Contains(stdout.String(), "export requests: 1;") {
		t.Errorf("second run: %s", &stdout)
	}

	if code := Main([]string{"prime", "-c", cfg, "--since", "yesterday"}, &stdout, &stderr); code != exitUsage {
		t.Errorf("bad --since: exit %d", code)
	}
}
