package pipeline_test

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/testenv"
)

// firstN answers the first n bulkUpdate requests with fail and passes the
// rest to the simulator.
func firstN(n int, fail http.HandlerFunc) func(http.Handler) http.Handler {
	var mu sync.Mutex
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			hit := n > 0 && r.URL.Path == "/api/users/bulkUpdate"
			if hit {
				n--
			}
			mu.Unlock()
			if hit {
				fail(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// logRecorder is a slog handler keeping every record, so tests can assert
// on what an operator would read.
type logRecorder struct {
	mu   *sync.Mutex
	recs *[]slog.Record
}

func newLogRecorder() logRecorder { return logRecorder{mu: &sync.Mutex{}, recs: &[]slog.Record{}} }

func (l logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	*l.recs = append(*l.recs, r.Clone())
	l.mu.Unlock()
	return nil
}

func (l logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l logRecorder) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level or above were logged.
func (l logRecorder) count(level slog.Level) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range *l.recs {
		if r.Level >= level {
			n++
		}
	}
	return n
}

// eventually polls cond until it holds, failing the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deadByClass reads the dead-letter topic and counts its records by class.
func (e *env) deadByClass() (map[change.Class]int, []change.Message) {
	e.t.Helper()
	dead := e.Kafka.ReadAll(dlqTopic, 1)
	out := map[change.Class]int{}
	for _, d := range dead {
		f, ok := dlq.Failure(d)
		if !ok {
			e.t.Errorf("dead letter at %v has no failure headers", d.Pos)
		}
		out[f.Class]++
	}
	return out, dead
}

// upsertRow is a Debezium update of user id with the mapped columns set.
func upsertRow(id int, email, name string, version int) change.Message {
	return testenv.Upsert(id, testenv.Row{"id": id, "email": email, "first_name": name, "plan": map[string]any{"tier": "pro"}, "version": version, "signup_at": 1700000000000})
}
