// Package prime fills the state's existence set from Iterable's user export,
// so that update mode needs no lookup for users Iterable already has
// (`attrsync prime`).
//
// The export is asked for one date range at a time, oldest first, and
// streamed: users are marked in batches as they arrive, so memory does not
// grow with the project. After each range the checkpoint records how far
// priming got; a run that stops (a signal, an outage) resumes from there,
// and a later run primes only the users exported since. Iterable allows 4
// export requests a minute, so ranges are sized to hold many users each:
// the length doubles after a range with few users and halves after one with
// more than Options.TargetUsers.
//
// Iterable does not document which date a user export's range applies to
// (profileUpdatedAt or signupDate). Priming oldest first covers every user
// either way: neither date ever moves back, so a user updated during the
// prime can only move to a range not yet asked for, where it is found
// again.
package prime

import (
	"context"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
)

// Exporter streams the identifiers of the users in a date range
// (*iterable.Client).
type Exporter interface {
	ExportUsers(ctx context.Context, from, to time.Time, visit func(iterable.ExportedUser) error) (int, error)
}

// Marker is the existence set (*state.Existence).
type Marker interface {
	MarkExisting(ctx context.Context, ids []change.Identifier) error
}

// Checkpoints load and save how far priming got (*RedisCheckpoint).
type Checkpoints interface {
	Load(ctx context.Context) (Checkpoint, bool, error)
	Save(ctx context.Context, cp Checkpoint) error
}

// Progress is how far a run got.
type Progress struct {
	// Since and Until bound the whole prime; Done is where the completed
	// ranges end, and RangeEnd the end of the range being streamed.
	Since, Done, RangeEnd, Until time.Time
	// Users counts users marked since Since, by earlier runs too.
	Users int64
	// Skipped counts exported users without the sync's identifier, or with
	// one the mapping refuses, in this run.
	Skipped int64
	// Requests counts export requests of this run, retries included.
	Requests int
	// Resumed says whether the run continued a checkpoint.
	Resumed bool
}

// Fraction is the share of the date range done, 0..1.
func (p Progress) Fraction() float64 {
	total := p.Until.Sub(p.Since)
	if total <= 0 {
		return 1
	}
	return min(max(float64(p.Done.Sub(p.Since))/float64(total), 0), 1)
}

// Run primes the existence set from the export, resuming from the
// checkpoint unless opts.Restart. It returns the final progress; on error,
// the checkpoint still says how far it got, and the next run resumes there.
func Run(ctx context.Context, exp Exporter, set Marker, cps Checkpoints, opts Options) (Progress, error) {
	opts = opts.withDefaults()
	r := &run{exp: exp, set: set, opts: opts, batch: make([]change.Identifier, 0, opts.Batch)}
	cp, found, err := cps.Load(ctx)
	if err != nil {
		return Progress{}, err
	}
	if !found || opts.Restart || cp.Chunk <= 0 {
		cp = Checkpoint{Since: opts.Since, Done: opts.Since, Chunk: opts.Chunk}
	}
	r.p = Progress{Since: cp.Since, Done: cp.Done, RangeEnd: cp.Done, Until: opts.Until, Users: cp.Users, Resumed: found && !opts.Restart}
	if r.p.Until.Before(r.p.Done) {
		r.p.Until = r.p.Done
	}
	opts.Logger.Info("prime: starting", "since", cp.Since, "done", cp.Done, "until", r.p.Until, "resumed", r.p.Resumed)
	chunk := cp.Chunk
	for r.p.Done.Before(r.p.Until) {
		to := r.p.Done.Add(chunk)
		if to.After(r.p.Until) {
			to = r.p.Until
		}
		from := r.p.Done
		r.p.RangeEnd = to
		n, err := r.exportRange(ctx, from, to)
		if err != nil {
			return r.p, err
		}
		chunk = nextChunk(chunk, n, opts)
		r.p.Done = to
		if err := cps.Save(ctx, Checkpoint{Since: cp.Since, Done: to, Chunk: chunk, Users: r.p.Users}); err != nil {
			return r.p, err
		}
		opts.Logger.Info("prime: range done", "from", from, "to", to, "users", n, "total", r.p.Users)
		r.report()
	}
	return r.p, nil
}

// run is the state of one Run.
type run struct {
	exp   Exporter
	set   Marker
	opts  Options
	p     Progress
	batch []change.Identifier
}

// exportRange streams [from, to) into the set, retrying transient failures
// from the start of the range (marking a user twice is harmless), and
// returns how many users the range held.
func (r *run) exportRange(ctx context.Context, from, to time.Time) (int, error) {
	bo := backoff.WithContext(r.opts.Retry(), ctx)
	users, skipped := r.p.Users, r.p.Skipped
	visit := func(u iterable.ExportedUser) error { return r.visit(ctx, u) }
	var n int
	op := func() error {
		// A retry marks the range's users again; count them once.
		r.p.Users, r.p.Skipped = users, skipped
		r.p.Requests++
		var err error
		n, err = r.exp.ExportUsers(ctx, from, to, visit)
		if err == nil {
			err = r.flush(ctx)
		}
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil, !iterable.IsTransient(err):
			return backoff.Permanent(err)
		}
		r.opts.Logger.Warn("prime: export failed, retrying the range", "from", from, "to", to, "err", err)
		r.batch = r.batch[:0]
		return err
	}
	if err := backoff.Retry(op, bo); err != nil {
		return 0, fmt.Errorf("prime: users from %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return n, nil
}

// visit takes one exported user. A batch that cannot be marked ends the
// stream, and the range is retried or given up as a whole.
func (r *run) visit(ctx context.Context, u iterable.ExportedUser) error {
	raw := u.Email
	if r.opts.Kind == change.UserID {
		raw = u.UserID
	}
	id, err := r.opts.Identify(raw)
	if raw == "" || err != nil {
		r.p.Skipped++
		return nil
	}
	r.batch = append(r.batch, id)
	if len(r.batch) < cap(r.batch) {
		return nil
	}
	return r.flush(ctx)
}

// flush marks the batch.
func (r *run) flush(ctx context.Context) error {
	if len(r.batch) == 0 {
		return nil
	}
	if err := r.set.MarkExisting(ctx, r.batch); err != nil {
		return err
	}
	r.p.Users += int64(len(r.batch))
	r.batch = r.batch[:0]
	r.report()
	return nil
}

func (r *run) report() {
	if r.opts.Progress != nil {
		r.opts.Progress(r.p)
	}
}

// nextChunk sizes the next range from how many users the last one held.
func nextChunk(chunk time.Duration, users int, opts Options) time.Duration {
	switch {
	case users > opts.TargetUsers:
		chunk /= 2
	case users < opts.TargetUsers/4:
		chunk *= 2
	}
	return min(max(chunk, MinChunk), opts.MaxChunk)
}
