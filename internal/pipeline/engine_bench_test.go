package pipeline

import (
	"fmt"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// BenchmarkEngineDistinctUsers is the engine's own work per message on a
// backlog of distinct users, the initial snapshot's shape: each message is
// added (its row tracked, as the diff path's rows are), taken in a full
// candidate and settled, without the goroutine and channels around it.
// held is how many users wait in the engine when a candidate is taken:
// with the diff workers busy, the default 64 MiB budget of 2.7 KB events
// holds about 24,000.
func BenchmarkEngineDistinctUsers(b *testing.B) {
	const users = 200_000
	ids := make([]change.Identifier, users)
	rows := make([]state.RowKey, users)
	for i := range ids {
		ids[i] = change.Identifier{Kind: change.Email, Value: fmt.Sprintf("user%07d@example.com", i)}
		rows[i] = state.RowKeyOf("users", fmt.Appendf(nil, "%d", i))
	}
	for _, held := range []int{1000, 24_000} {
		b.Run(fmt.Sprintf("held=%d", held), func(b *testing.B) {
			s := &Session{rows: newRowTracker()}
			e := newEngine(s, Config{MaxUsers: 1000, MaxWait: time.Second})
			now := time.Now()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				k := i % users
				en := entry{ch: change.UserChange{User: ids[k]}, row: rows[k]}
				en.seq, _ = s.rows.add(en.row, en.ch.User)
				e.add(en, now)
				if len(e.ready) >= held {
					ws := e.take(now)
					settled := make([]change.Identifier, len(ws))
					for j, w := range ws {
						settled[j] = w.id
					}
					e.settle(settled, now)
				}
				i++
			}
		})
	}
}
