package prime_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/prime"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/attrsync/attrsync/internal/testenv"
)

const key = "prime-test-key"

// project is a simulated Iterable project whose users were created over
// three years, on a clock the test moves.
type project struct {
	sim   *sim.Server
	url   string
	mu    sync.Mutex
	clock time.Time
}

func (p *project) now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clock
}

func (p *project) advance(d time.Duration) {
	p.mu.Lock()
	p.clock = p.clock.Add(d)
	p.mu.Unlock()
}

// newProject seeds n users with an email (every tenth also has a userId,
// every 25th has a userId only), one every 8 hours from 2021.
func newProject(t *testing.T, n int) *project {
	t.Helper()
	p := &project{clock: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}
	p.sim = sim.New(sim.Options{APIKey: key, Now: p.now, ExportPerMinute: -1, BulkUpdatePerSecond: -1, LookupPerSecond: -1})
	srv := httptest.NewServer(p.sim)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	for i := range n {
		p.seed(t, i)
		p.advance(8 * time.Hour)
	}
	return p
}

func (p *project) seed(t *testing.T, i int) {
	t.Helper()
	email, userID := fmt.Sprintf("User%d@Example.com", i), ""
	if i%10 == 0 {
		userID = fmt.Sprintf("u%d", i)
	}
	if i%25 == 0 {
		email, userID = "", fmt.Sprintf("only%d", i)
	}
	if err := p.sim.SeedUser(email, userID, map[string]any{"n": i}); err != nil {
		t.Fatal(err)
	}
}

// exportRequests returns the [start, end) of every export the simulator got.
func (p *project) exportRequests(t *testing.T) (ranges [][2]string, statuses []int) {
	t.Helper()
	for _, r := range p.sim.Requests() {
		if r.Endpoint != sim.EndpointExport {
			continue
		}
		q, err := url.ParseQuery(r.Query)
		if err != nil {
			t.Fatal(err)
		}
		ranges = append(ranges, [2]string{q.Get("startDateTime"), q.Get("endDateTime")})
		statuses = append(statuses, r.Status)
	}
	return ranges, statuses
}

type fixture struct {
	rdb *redis.Client
	set *state.Existence
	cps *prime.RedisCheckpoint
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	r := testenv.StartRedis(t)
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	set, err := state.NewExistence(context.Background(), rdb, "attrsync", "users")
	if err != nil {
		t.Fatal(err)
	}
	return fixture{rdb: rdb, set: set, cps: prime.NewRedisCheckpoint(rdb, "attrsync", "users")}
}

// missing lists the emails of users 0..n-1 that should be primed but are not.
func (f fixture) missing(t *testing.T, n int) []string {
	t.Helper()
	var ids []change.Identifier
	for i := range n {
		if i%25 != 0 {
			ids = append(ids, change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%d@example.com", i)})
		}
	}
	got, err := f.set.Exists(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, ok := range got {
		if !ok {
			out = append(out, ids[i].Value)
		}
	}
	return out
}

func fastRetry() backoff.BackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = time.Millisecond, 10*time.Millisecond, 5*time.Second
	return b
}

func TestPrimeFillsTheExistenceSet(t *testing.T) {
	t.Parallel()
	const users = 3000 // 1000 days
	p := newProject(t, users)
	f := newFixture(t)
	var (
		reports []prime.Progress
		maxSize int
	)
	marker := markerFunc(func(ctx context.Context, ids []change.Identifier) error {
		maxSize = max(maxSize, len(ids))
		return f.set.MarkExisting(ctx, ids)
	})
	res, err := prime.Run(t.Context(), iterable.New(p.url, key), marker, f.cps, prime.Options{
		Kind:     change.Email,
		Until:    p.now(),
		Chunk:    90 * 24 * time.Hour,
		Progress: func(pr prime.Progress) { reports = append(reports, pr) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := f.missing(t, users); len(m) != 0 {
		t.Fatalf("%d users missing from the set, such as %v", len(m), m[:min(3, len(m))])
	}
	if n, _ := f.set.Count(t.Context()); n != users-users/25 || res.Users != n || res.Skipped != users/25 {
		t.Errorf("set holds %d, result %+v; want %d users and %d userId-only skipped", n, res, users-users/25, users/25)
	}
	if maxSize > prime.DefaultBatch {
		t.Errorf("a batch of %d users, over %d: memory would grow with the project", maxSize, prime.DefaultBatch)
	}
	// Ranges are contiguous from 2013 to the end, oldest first, and grow
	// while they hold few users.
	ranges, statuses := p.exportRequests(t)
	if ranges[0][0] != "2013-01-01 00:00:00 +00:00" || ranges[len(ranges)-1][1] != p.now().Format("2006-01-02 15:04:05 -07:00") {
		t.Errorf("ranges %v", ranges)
	}
	for i := 1; i < len(ranges); i++ {
		if ranges[i][0] != ranges[i-1][1] || statuses[i] != http.StatusOK {
			t.Errorf("range %d %v after %v (status %d)", i, ranges[i], ranges[i-1], statuses[i])
		}
	}
	if len(ranges) > 12 {
		t.Errorf("%d export requests for 13 years of a small project: ranges do not grow", len(ranges))
	}
	last := reports[len(reports)-1]
	if last.Fraction() != 1 || last.Users != res.Users {
		t.Errorf("last progress %+v", last)
	}
	for i := 1; i < len(reports); i++ {
		if reports[i].Users < reports[i-1].Users || reports[i].Done.Before(reports[i-1].Done) {
			t.Fatalf("progress went back: %+v after %+v", reports[i], reports[i-1])
		}
	}
}

type markerFunc func(context.Context, []change.Identifier) error

func (m markerFunc) MarkExisting(ctx context.Context, ids []change.Identifier) error {
	return m(ctx, ids)
}

func TestPrimeResumesWhereItStopped(t *testing.T) {
	t.Parallel()
	const users = 3000
	p := newProject(t, users)
	f := newFixture(t)
	c := iterable.New(p.url, key)
	opts := prime.Options{Kind: change.Email, Until: p.now(), Chunk: 30 * 24 * time.Hour, MaxChunk: 30 * 24 * time.Hour}

	// Stop after the fourth range that held users.
	ctx, cancel := context.WithCancel(t.Context())
	ranges := 0
	opts.Progress = func(pr prime.Progress) {
		if pr.Done == pr.RangeEnd && pr.Users > 0 {
			if ranges++; ranges == 4 {
				cancel()
			}
		}
	}
	first, err := prime.Run(ctx, c, f.set, f.cps, opts)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	cp, found, err := f.cps.Load(t.Context())
	if err != nil || !found || cp.Done.IsZero() || cp.Users != first.Users {
		t.Fatalf("checkpoint %+v, %v, %v after %+v", cp, found, err, first)
	}
	requestsBefore, _ := p.exportRequests(t)

	opts.Progress = nil
	second, err := prime.Run(t.Context(), c, f.set, f.cps, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Resumed || second.Users != users-users/25 {
		t.Errorf("resumed run: %+v", second)
	}
	all, _ := p.exportRequests(t)
	if resumedAt := all[len(requestsBefore)][0]; resumedAt != cp.Done.Format("2006-01-02 15:04:05 -07:00") {
		t.Errorf("the resumed run asked from %s, want the checkpoint %s", resumedAt, cp.Done)
	}
	if m := f.missing(t, users); len(m) != 0 {
		t.Errorf("%d users missing after resuming", len(m))
	}

	// Users created since are primed by the next run, which asks only for
	// what is new.
	p.advance(time.Hour)
	p.seed(t, users+1)
	third, err := prime.Run(t.Context(), c, f.set, f.cps, prime.Options{Kind: change.Email, Until: p.now().Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	all2, _ := p.exportRequests(t)
	if len(all2) != len(all)+1 || third.Users != second.Users+1 {
		t.Errorf("incremental run: %d requests, %+v", len(all2)-len(all), third)
	}
	if m := f.missing(t, users+2); len(m) != 0 { // user 3000 would be userId-only: not checked
		t.Errorf("missing after the incremental run: %v", m)
	}
}

func TestPrimeRetriesTransientFailures(t *testing.T) {
	t.Parallel()
	p := newProject(t, 500)
	f := newFixture(t)
	p.sim.SetFaults(sim.Faults{Burst: 2, BurstStatus: 503, Endpoints: []string{sim.EndpointExport}})
	res, err := prime.Run(t.Context(), iterable.New(p.url, key), f.set, f.cps, prime.Options{Kind: change.Email, Until: p.now(), Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, statuses := p.exportRequests(t)
	if statuses[0] != 503 || statuses[1] != 503 || res.Requests != len(statuses) {
		t.Errorf("statuses %v, %d requests counted", statuses, res.Requests)
	}
	if m := f.missing(t, 500); len(m) != 0 || res.Users != 480 {
		t.Errorf("%d missing, %+v", len(m), res)
	}

	// A permanent failure ends the run with the checkpoint intact.
	_, err = prime.Run(t.Context(), iterable.New(p.url, "wrong-key"), f.set, f.cps, prime.Options{Kind: change.Email, Until: p.now().Add(time.Hour), Retry: fastRetry})
	if !iterable.IsAuth(err) {
		t.Errorf("wrong key: %v", err)
	}
	if cp, _, _ := f.cps.Load(t.Context()); !cp.Done.Equal(p.now()) {
		t.Errorf("checkpoint moved to %s after a failed run", cp.Done)
	}
}

func TestPrimeByUserID(t *testing.T) {
	t.Parallel()
	p := newProject(t, 200)
	f := newFixture(t)
	res, err := prime.Run(t.Context(), iterable.New(p.url, key), f.set, f.cps, prime.Options{Kind: change.UserID, Until: p.now(), Restart: true})
	if err != nil {
		t.Fatal(err)
	}
	// Every tenth user has a userId, and every 25th only a userId: 20 + 8 - 4.
	if res.Users != 24 || res.Skipped != 176 {
		t.Errorf("%+v", res)
	}
	got, _ := f.set.Exists(t.Context(), []change.Identifier{{Kind: change.UserID, Value: "u10"}, {Kind: change.UserID, Value: "only25"}, {Kind: change.Email, Value: "user10@example.com"}})
	if !got[0] || !got[1] || got[2] {
		t.Errorf("Exists = %v", got)
	}
}
