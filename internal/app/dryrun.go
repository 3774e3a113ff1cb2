package app

import (
	"context"
	"log/slog"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/state"
)

// A dry run decodes, diffs and batches as usual and writes nothing: these
// stand in for the outside systems that would be written to. The
// consumption side (no group membership, no commit) is Run's.

// dryRunAPI logs each request it would send and answers as if Iterable
// accepted every user. It makes no call at all, lookups included: every
// user is taken to exist.
type dryRunAPI struct {
	log *slog.Logger
}

func (d dryRunAPI) BulkUpdate(_ context.Context, req iterable.BulkRequest) (iterable.BulkResult, error) {
	attrs := 0
	for _, u := range req.Users {
		attrs += len(u.Fields)
	}
	body := iterable.EncodeBulk(req)
	d.log.Info("dry run: would send bulkUpdate", "users", len(req.Users), "attributes", attrs,
		"bytes", len(body), "first_user", mask(req.Users[0].ID))
	d.log.Debug("dry run: request body", "body", string(body))
	return iterable.BulkResult{SuccessCount: len(req.Users)}, nil
}

func (dryRunAPI) UserExists(context.Context, change.Identifier) (bool, error) { return true, nil }

func (d dryRunAPI) UpdateEmail(_ context.Context, current change.Identifier, _ string) error {
	d.log.Info("dry run: would move a profile to its row's new email (users/updateEmail)", "user", mask(current))
	return nil
}

func (d dryRunAPI) DeleteUser(_ context.Context, id change.Identifier) (bool, error) {
	d.log.Info("dry run: would delete a user", "user", mask(id))
	return true, nil
}
func (dryRunAPI) CheckKey(context.Context) error { return nil }

// mask hides most of an identifier, for logs at info level.
func mask(id change.Identifier) string {
	v := id.Value
	if len(v) <= 2 {
		return "**"
	}
	return v[:1] + "***" + v[len(v)-1:]
}

// readOnlyStore reads the real state and writes nothing: every write
// "succeeds" without reaching Redis.
type readOnlyStore struct {
	*state.Store
}

// Load reads the real records, but a dry run does not wait for Iterable
// to finish deleting a user before writing to it: its lookups always find
// the user, so it would wait for ever.
func (r readOnlyStore) Load(ctx context.Context, users []change.Identifier) ([]state.Record, error) {
	recs, err := r.Store.Load(ctx, users)
	for i := range recs {
		recs[i].Deleted = false
	}
	return recs, err
}

func (readOnlyStore) Intend(_ context.Context, _ []change.Identifier, recs []state.Record, _ []change.Position, _ time.Time) ([]state.Swap, error) {
	return allDone(recs), nil
}

func (readOnlyStore) Save(_ context.Context, _ []change.Identifier, recs []state.Record) ([]state.Swap, error) {
	return allDone(recs), nil
}

// readOnlyIndex reads the real row index and existence set and writes
// nothing.
type readOnlyIndex struct {
	*state.Store
}

func (readOnlyIndex) SaveRows(_ context.Context, _ []state.RowKey, rows []state.Row) ([]state.RowSwap, error) {
	out := make([]state.RowSwap, len(rows))
	for i, r := range rows {
		out[i] = state.RowSwap{Done: true, Row: r}
	}
	return out, nil
}

func (readOnlyIndex) Unmark(context.Context, []change.Identifier) error { return nil }

func allDone(recs []state.Record) []state.Swap {
	out := make([]state.Swap, len(recs))
	for i, r := range recs {
		out[i] = state.Swap{Done: true, Rec: r}
	}
	return out
}

// discardDeadLetters logs what it would dead-letter.
type discardDeadLetters struct {
	log *slog.Logger
}

func (d discardDeadLetters) Write(_ context.Context, msgs []change.Message) error {
	d.log.Info("dry run: would dead-letter", "records", len(msgs))
	return nil
}

// unlimited is the pacer of a dry run: nothing is sent, so nothing waits.
type unlimited struct{}

func (unlimited) Wait(context.Context) (time.Duration, error)         { return 0, nil }
func (unlimited) Throttled(context.Context, time.Duration, int) error { return nil }
func (unlimited) Succeeded(context.Context) error                     { return nil }

var (
	_ pipeline.API         = dryRunAPI{}
	_ pipeline.Store       = readOnlyStore{}
	_ pipeline.Index       = readOnlyIndex{}
	_ pipeline.DeadLetters = discardDeadLetters{}
	_ pipeline.Pacer       = unlimited{}
)
