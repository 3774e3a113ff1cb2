package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/pipeline"
)

// instance is one attrsync sync consuming in the background, built
// exactly as `attrsync run` builds it (app.Build: its own Redis client,
// Iterable client, limiter and Kafka connection).
type instance struct {
	sys  *app.App
	stop context.CancelFunc
	done chan error
}

func startInstance(ctx context.Context, cfg *config.Config) (*instance, error) {
	ctx, cancel := context.WithCancel(ctx)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sys, err := app.Build(ctx, cfg, log, app.Options{})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("build pipeline: %w", err)
	}
	in := &instance{sys: sys, stop: cancel, done: make(chan error, 1)}
	go func() { in.done <- sys.Run(ctx) }()
	return in, nil
}

func (in *instance) stats() pipeline.Snapshot { return in.sys.Stats() }

// close stops consuming (the pipeline drains and commits) and releases the
// connections.
func (in *instance) close() error {
	in.stop()
	var err error
	select {
	case err = <-in.done:
	case <-time.After(30 * time.Second):
		err = errors.New("pipeline did not stop within 30s")
	}
	return errors.Join(err, in.sys.Close())
}

// closeAll closes every instance, in parallel so that their drains overlap.
func closeAll(ins []*instance) error {
	errs := make(chan error, len(ins))
	for _, in := range ins {
		go func() { errs <- in.close() }()
	}
	var all []error
	for range ins {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// waitUntil polls cond every interval until it holds, ctx ends or timeout
// passes, and returns when cond first held.
func waitUntil(ctx context.Context, timeout, interval time.Duration, cond func() bool) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("condition not met within %s", timeout)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// progress is a one-line description of where a pipeline stands, for
// errors.
func progress(st pipeline.Snapshot) string {
	return fmt.Sprintf("consumed %d, finished %d (unchanged %d, stale %d, accepted %d, dead-lettered %d), %d requests",
		st.Consumed, st.Finished(), st.Unchanged, st.Stale, st.Accepted, st.DeadLettered, st.Requests)
}
