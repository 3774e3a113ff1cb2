package pipeline

import (
	"time"

	"github.com/attrsync/attrsync/internal/iterable"
)

// Config shapes the algorithm.
type Config struct {
	// MaxUsers, MaxBytes and MaxWait bound a bulkUpdate request: a request
	// carries at most MaxUsers users and MaxBytes of body, and a change
	// waits at most MaxWait to be coalesced with others.
	MaxUsers int
	MaxBytes int
	MaxWait  time.Duration
	// Request holds the flags every bulkUpdate request carries
	// (createNewFields, mergeNestedObjects, preferUserId, updateOnly).
	Request iterable.BulkRequest
	// UpdateMode touches only users that exist in Iterable; unless the
	// request carries updateOnly, unknown users are looked up first.
	UpdateMode bool
	// MaxInFlight bounds concurrent bulkUpdate requests.
	MaxInFlight int
	// Retry shapes the backoff of transient failures; MaxElapsed > 0 gives
	// up on a request after that long (its users are dead-lettered).
	RetryInitial, RetryMax, RetryMaxElapsed time.Duration
	// IntentLease is how long a request may be on its way to Iterable: no
	// other request for its users leaves meanwhile, from any process. It
	// must exceed the Iterable client's request timeout.
	IntentLease time.Duration
	// Force re-sends every mapped attribute of the newest messages, changed
	// or not (replay --force).
	Force bool
	// MoveEmails follows email changes (identifier.as email, on_email_change
	// move): a row whose email changed moves its profile with
	// users/updateEmail instead of writing a new one.
	MoveEmails bool
	// TrackRows keeps the index of which user each row (message key) last
	// named: what moves find the old email in when the source sends no
	// before image, and what deletes that carry only the key are resolved
	// with. It needs Deps.Index.
	TrackRows bool
	// MoveSettle is how long a moved user's next bulkUpdate waits after its
	// updateEmail: Iterable asks not to mix single-user and bulk calls for
	// one user within a short time, without saying how short.
	MoveSettle time.Duration
}

// DefaultMoveSettle is MoveSettle's default.
const DefaultMoveSettle = 5 * time.Second

// defaults fills what a zero Config leaves unset.
func (c Config) defaults() Config {
	if c.MaxUsers <= 0 {
		c.MaxUsers = 1000
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 4_000_000
	}
	if c.MaxWait <= 0 {
		c.MaxWait = time.Second
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4
	}
	if c.RetryInitial <= 0 {
		c.RetryInitial = 500 * time.Millisecond
	}
	if c.RetryMax <= 0 {
		c.RetryMax = time.Minute
	}
	if c.MoveSettle <= 0 {
		c.MoveSettle = DefaultMoveSettle
	}
	if c.IntentLease <= 0 {
		c.IntentLease = iterable.DefaultTimeout + 5*time.Second
	}
	return c
}

// probeInterval is how often a refused API key is tried again on its own.
func (c Config) probeInterval() time.Duration {
	return min(c.RetryMax, 30*time.Second)
}

// requeueDelay is how long a user waits before it is tried again after
// another process was found working on it.
func (c Config) requeueDelay() time.Duration {
	return max(c.MaxWait, 250*time.Millisecond)
}
