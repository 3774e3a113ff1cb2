package pipeline

import (
	"context"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/state"
)

// Decoder turns message bytes into a row (internal/cdc). An error wrapping
// cdc.ErrUnavailable (a schema registry that cannot be reached) is retried
// while the partition waits; any other error dead-letters the message. ctx
// bounds what decoding waits for. Recycle is told when nothing reads a row
// any more (its user change is made), so the decoder may reuse its storage.
type Decoder interface {
	DecodeContext(ctx context.Context, key, value []byte) (change.Row, error)
	Recycle(row change.Row)
}

// Mapper turns a row into a user change (internal/mapping).
type Mapper interface {
	Map(row change.Row, pos change.Position) (change.UserChange, error)
}

// Store is what Iterable last accepted per user (internal/state). Writes
// are compare-and-set: a user written by someone else since it was read is
// reported instead of overwritten.
type Store interface {
	Load(ctx context.Context, users []change.Identifier) ([]state.Record, error)
	Changed(rec state.Record, attrs []change.Attr) []change.Attr
	Apply(rec state.Record, sent []change.Attr, pos change.Position, forget bool, now time.Time) state.Record
	Intend(ctx context.Context, users []change.Identifier, recs []state.Record, positions []change.Position, now time.Time) ([]state.Swap, error)
	Save(ctx context.Context, users []change.Identifier, recs []state.Record) ([]state.Swap, error)
}

// API is the part of Iterable the pipeline calls (internal/iterable). It
// does not pace bulkUpdate: the pipeline takes a turn from its Pacer
// before every attempt, so that a request is cut only when it may leave.
type API interface {
	BulkUpdate(ctx context.Context, req iterable.BulkRequest) (iterable.BulkResult, error)
	UserExists(ctx context.Context, id change.Identifier) (bool, error)
	// UpdateEmail moves the profile of current to newEmail
	// (users/updateEmail), paced by its own limiter. Refusals match
	// iterable.ErrEmailTaken, ErrUserForgotten and ErrUserNotFound.
	UpdateEmail(ctx context.Context, current change.Identifier, newEmail string) error
	// DeleteUser deletes the user (asynchronously in Iterable), paced by
	// its own limiter; found is false when Iterable had no such user.
	DeleteUser(ctx context.Context, id change.Identifier) (found bool, err error)
	// CheckKey makes one cheap authenticated call; it fails the way any
	// call fails when Iterable refuses the key.
	CheckKey(ctx context.Context) error
}

// Index is what the state keeps beside per-user records (internal/state):
// which user each source row (Kafka message key) last named, to follow
// email changes and find the user of a delete that carries only its key;
// and the users `attrsync prime` found in Iterable, so that update mode
// need not look them up. Without one, email changes are followed only
// from before images, such deletes are skipped, and update mode looks up
// every user the state has no record of.
type Index interface {
	// Lookup reads the rows of keys and whether each of users is in the
	// existence set, in one round trip.
	Lookup(ctx context.Context, keys []state.RowKey, users []change.Identifier) ([]state.Row, []bool, error)
	// SaveRows writes rows compare-and-set, as Store.Save does records.
	SaveRows(ctx context.Context, keys []state.RowKey, rows []state.Row) ([]state.RowSwap, error)
	// Unmark removes deleted users from the existence set.
	Unmark(ctx context.Context, users []change.Identifier) error
}

// Pacer hands out bulkUpdate turns at the sync's rate (internal/ratelimit)
// and adapts that rate to what Iterable answers.
type Pacer interface {
	// Wait returns when one request may be sent, and how long that took.
	// An error other than ctx's is the pacer's own (a Redis outage).
	Wait(ctx context.Context) (time.Duration, error)
	// Throttled reports a 429: wait is how long Iterable asked to hold
	// back, limit the rateLimitLimit it reported (0: none).
	Throttled(ctx context.Context, wait time.Duration, limit int) error
	// Succeeded reports an answer that got through Iterable's rate limit
	// (anything but a 429, a server error or no answer).
	Succeeded(ctx context.Context) error
}

// DeadLetters appends records to the dead-letter topic durably, each once.
type DeadLetters interface {
	Write(ctx context.Context, msgs []change.Message) error
}

// Finisher is told when a message reached its end, so that its offset can
// be committed (internal/kafka's runtime).
type Finisher interface {
	Finish(pos change.Position)
}
