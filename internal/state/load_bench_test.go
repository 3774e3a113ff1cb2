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
	s := newStore(b, client(b), "a", "b")
	ids := make([]change.Identifier, 1000)
	recs := make([]state.Record, len(ids))
	for i := range ids {
		ids[i] = change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%d@example.com", i)}
		recs[i] = s.Apply(state.Record{}, []change.Attr{attr("a", "1")}, change.Position{Topic: "t", Offset: int64(i)}, false, time.Now())
	}
	mustSave(b, s, ids, recs)
	ctx := context.Background()
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
}
