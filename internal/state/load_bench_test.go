package state_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// BenchmarkLoad times loading one diff candidate's worth of records (1,000
// users, all synced) from a real Redis: the read every event of the diff
// path pays for, one pipelined round trip per candidate.
func BenchmarkLoad(b *testing.B) {
	ctx := context.Background()
	rdb := client(b)
	s, err := state.New(ctx, rdb, "bench", "sync", []string{"a", "b"})
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]change.Identifier, 1000)
	for i := range ids {
		ids[i] = change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%d@example.com", i)}
	}
	recs := make([]state.Record, len(ids))
	for i := range recs {
		recs[i] = s.Apply(state.Record{}, []change.Attr{attr("a", "1")}, change.Position{Topic: "t", Offset: int64(i)}, false, time.Now())
	}
	if _, err := s.Save(ctx, ids, recs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		recs, err := s.Load(ctx, ids)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) != len(ids) || !recs[len(ids)-1].Exists() {
			b.Fatal("the synced users' records did not load")
		}
	}
}
