package state_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// BenchmarkLoad times loading one diff candidate's worth of records (1,000
// synced users, 10 attributes) from a real Redis: the read every event of
// the diff path pays for, one pipelined round trip per candidate. Beside
// the client's time it reports Redis's own CPU time per record read
// (redis-cpu-ns/read), which grows with the users in each bucket hash, so
// BENCH_SYNCED_USERS (1,000 by default) syncs more users first: 1000000
// is the bench's snapshot. It runs with the README's listpack settings and
// with Redis's default of 128 entries, above which a hash is a hash table.
func BenchmarkLoad(b *testing.B) {
	synced := 1000
	if v := os.Getenv("BENCH_SYNCED_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1000 {
			b.Fatalf("BENCH_SYNCED_USERS=%q: want a number of at least 1000", v)
		}
		synced = n
	}
	for _, entries := range []string{"1024", "128"} {
		b.Run("listpack-entries="+entries, func(b *testing.B) {
			rdb := client(b)
			ctx := context.Background()
			if err := rdb.ConfigSet(ctx, "hash-max-listpack-entries", entries).Err(); err != nil {
				b.Fatal(err)
			}
			attrs := make([]string, 10)
			for i := range attrs {
				attrs[i] = fmt.Sprintf("a%d", i)
			}
			s := newStore(b, rdb, attrs...)
			ids := syncUsers(b, s, attrs, synced)
			used, err := state.UsedMemory(ctx, rdb)
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := usedCPU(b, rdb)
			b.ReportAllocs()
			for b.Loop() {
				recs, err := s.Load(ctx, ids)
				if err != nil {
					b.Fatal(err)
				}
				for i, r := range recs {
					if !r.Exists() {
						b.Fatalf("user %d's record did not load", i)
					}
				}
			}
			reads := float64(b.N * len(ids))
			b.ReportMetric(float64((usedCPU(b, rdb)-cpu0).Nanoseconds())/reads, "redis-cpu-ns/read")
			b.ReportMetric(float64(used)/float64(synced), "redis-B/user")
		})
	}
}

// syncUsers saves a record of every attribute for n users and returns
// 1,000 of them spread over all: a diff candidate.
func syncUsers(b *testing.B, s *state.Store, attrs []string, n int) []change.Identifier {
	b.Helper()
	values := make([]change.Attr, len(attrs))
	for i, a := range attrs {
		values[i] = attr(a, strconv.Itoa(i))
	}
	var candidate []change.Identifier
	const chunk = 10_000
	ids := make([]change.Identifier, 0, chunk)
	recs := make([]state.Record, 0, chunk)
	for u := range n {
		id := change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%d@example.com", u)}
		if u%(n/1000) == 0 && len(candidate) < 1000 {
			candidate = append(candidate, id)
		}
		ids = append(ids, id)
		recs = append(recs, s.Apply(state.Record{}, values, change.Position{Topic: "t", Offset: int64(u)}, false, time.Now()))
		if len(ids) == chunk || u == n-1 {
			mustSave(b, s, ids, recs)
			ids, recs = ids[:0], recs[:0]
		}
	}
	return candidate
}

func usedCPU(b *testing.B, rdb *redis.Client) time.Duration {
	b.Helper()
	used, err := state.UsedCPU(context.Background(), rdb)
	if err != nil {
		b.Fatal(err)
	}
	return used
}

// BenchmarkChanged is the diff of one unchanged event of ten attributes,
// the bench's sync, against its user's record: what every event at 0 %
// change costs here once the record is read.
func BenchmarkChanged(b *testing.B) {
	names := []string{"firstName", "lastName", "city", "countryCode", "planTier", "seats", "active", "version", "score", "signedUpAt"}
	values := []string{`"Ann"`, `"Smithson"`, `"Amsterdam"`, `"NL"`, `"enterprise"`, `12`, `true`, `17`, `50.3`, `"2026-12-03 10:00:00 +00:00"`}
	s := state.NewInMemory("bench", names)
	attrs := make([]change.Attr, len(names))
	for i := range names {
		attrs[i] = change.Attr{Name: names[i], JSON: []byte(values[i])}
	}
	rec := s.Apply(state.Record{}, attrs, change.Position{Topic: "t"}, false, time.Now())
	b.ReportAllocs()
	for b.Loop() {
		if len(s.Changed(rec, attrs)) != 0 {
			b.Fatal("an unchanged event changed")
		}
	}
}
