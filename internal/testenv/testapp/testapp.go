// Package testapp runs a sync built by internal/app inside a test: the
// same wiring as `attrsync run`, in the test's process, stopped (drained
// and committed) when the test ends. It is apart from internal/testenv
// because it imports the whole application, which the packages
// internal/config composes must not see from their own tests.
package testapp

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/config"
)

// Sync is a sync consuming in the background.
type Sync struct {
	*app.App
	t    testing.TB
	stop context.CancelFunc
	done chan error
}

// Start builds the sync of cfg as `attrsync run` does and runs it until
// Close or the end of the test. log nil means Logger().
func Start(t testing.TB, cfg *config.Config, log *slog.Logger, opts app.Options) *Sync {
	t.Helper()
	if log == nil {
		log = Logger()
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Build(ctx, cfg, log, opts)
	if err != nil {
		cancel()
		t.Fatalf("build: %v", err)
	}
	s := &Sync{App: a, t: t, stop: cancel, done: make(chan error, 1)}
	go func() { s.done <- a.Run(ctx) }()
	t.Cleanup(s.Close)
	return s
}

// Close stops the sync (it drains and commits) and waits for it, failing
// the test if that takes more than 30 s. Closing twice does nothing.
func (s *Sync) Close() {
	if s.stop == nil {
		return
	}
	s.stop()
	s.stop = nil
	select {
	case err := <-s.done:
		if err != nil {
			s.t.Errorf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		s.t.Error("the sync did not stop within 30s")
	}
	s.App.Close()
}

// WaitFinished waits until the sync has finished n messages, and fails
// the test with its counters after 60 s.
func (s *Sync) WaitFinished(n int64) {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for s.Stats().Finished() < n {
		if time.Now().After(deadline) {
			st := s.Stats()
			s.t.Fatalf("finished %d of %d messages (consumed %d, accepted %d, unchanged %d, stale %d, dead %d)",
				st.Finished(), n, st.Consumed, st.Accepted, st.Unchanged, st.Stale, st.DeadLettered)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Logger is the logger of syncs in tests: debug to stderr with go test -v,
// nothing otherwise.
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
