package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/testenv/testapp"

	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// replay runs one bounded pass from the earliest offset and returns the
// bulkUpdate requests it caused.
func (e *env) replay(force bool, opts app.Options) ([]sim.Request, pipeline.Snapshot) {
	e.t.Helper()
	opts.Force = force
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := e.config("unused")
	sys, err := app.Build(ctx, cfg, testapp.Logger(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	defer sys.Close()
	ranges, err := sys.Ranges(ctx, cfg.Kafka.Topics, time.Time{})
	if err != nil {
		e.t.Fatal(err)
	}
	before := len(testenv.BulkRequests(e.Sim))
	if err := sys.Replay(ctx, ranges); err != nil {
		e.t.Fatal(err)
	}
	return testenv.BulkRequests(e.Sim)[before:], sys.Stats()
}

func TestReplay(t *testing.T) {
	e := newEnv(t, 3, sim.Options{})
	h := testenv.History(120, 4, 3)
	e.Kafka.Produce(topic, h.Msgs...)

	reqs, st := e.replay(false, app.Options{})
	if st.Finished() != int64(len(h.Msgs)) || len(reqs) == 0 {
		t.Fatalf("first replay finished %d of %d messages with %d requests", st.Finished(), len(h.Msgs), len(reqs))
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)

	if reqs, _ := e.replay(false, app.Options{}); len(reqs) != 0 {
		t.Errorf("a second identical replay sent %d requests, want 0", len(reqs))
	}
	reqs, _ = e.replay(true, app.Options{})
	users := 0
	for _, r := range reqs {
		users += r.Users
	}
	if users < len(h.Last) {
		t.Errorf("--force re-sent %d users, want all %d", users, len(h.Last))
	}
	testenv.CheckProfiles(t, e.Sim, h.Last)
	if got := e.Kafka.Committed("unused", topic, 3); anyCommitted(got) {
		t.Errorf("a replay committed offsets %v", got)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t, 2, sim.Options{})
	h := testenv.History(50, 3, 4)
	e.Kafka.Produce(topic, h.Msgs...)
	e.Kafka.Produce(topic, testenv.Raw(999, "not json"))

	r := e.startWith(e.config("dry"), app.Options{DryRun: true})
	r.WaitFinished(int64(len(h.Msgs) + 1))
	r.Close()
	if n := len(e.Sim.Requests()); n != 0 {
		t.Errorf("dry run made %d Iterable calls", n)
	}
	if got := e.Kafka.Committed("dry", topic, 2); anyCommitted(got) {
		t.Errorf("dry run committed offsets %v", got)
	}
	if dead := e.Kafka.ReadAll(dlqTopic, 1); len(dead) != 0 {
		t.Errorf("dry run wrote %d dead letters", len(dead))
	}
	// Nothing was stored, so a real run sends every user.
	reqs, _ := e.replay(false, app.Options{})
	if len(reqs) == 0 {
		t.Error("after a dry run, a real pass sent nothing: the dry run wrote state")
	}
}

func anyCommitted(offsets map[int]int64) bool {
	for _, off := range offsets {
		if off >= 0 {
			return true
		}
	}
	return false
}
