package prime

import (
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/attrsync/attrsync/internal/change"
)

// Defaults of Options.
const (
	// DefaultChunk is the first range's length: a year, so that a young or
	// small project is primed in a handful of requests.
	DefaultChunk = 365 * 24 * time.Hour
	// DefaultMaxChunk bounds how long a range grows.
	DefaultMaxChunk = 8 * DefaultChunk
	// MinChunk bounds how short a range shrinks.
	MinChunk = time.Minute
	// DefaultTargetUsers is how many users a range should hold: about a
	// minute of streaming, so that an interruption loses little.
	DefaultTargetUsers = 1_000_000
	// DefaultBatch is how many users one MarkExisting carries.
	DefaultBatch = 1000
)

// DefaultSince is where a first prime starts: 2013, the year Iterable was
// founded; no profile predates its project.
func DefaultSince() time.Time { return time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC) }

// Options configure Run. Only Kind is required.
type Options struct {
	// Kind is the identifier the sync keys users by; exported users without
	// one are skipped (counted in Progress.Skipped).
	Kind change.IDKind
	// Identify normalises an exported identifier as the mapping normalises
	// one from a row (mapping.Mapper.Identify), so the set is keyed like the
	// state. nil: emails are trimmed and lowercased, userIds kept.
	Identify func(raw string) (change.Identifier, error)
	// Since is where a prime without a checkpoint starts (DefaultSince).
	Since time.Time
	// Until is where this run stops (now, to the second).
	Until time.Time
	// Restart ignores the checkpoint and starts over from Since.
	Restart bool
	// Chunk is the first range's length when there is no checkpoint.
	Chunk time.Duration
	// MaxChunk bounds the range length (DefaultMaxChunk).
	MaxChunk time.Duration
	// TargetUsers is the number of users a range should hold.
	TargetUsers int
	// Batch is the number of users per MarkExisting.
	Batch int
	// Retry is the backoff for a range whose export failed transiently;
	// nil: 1 s doubling to a minute, for at most 15 minutes.
	Retry func() backoff.BackOff
	// Progress, if set, is called after every batch and every range.
	Progress func(Progress)
	// Logger receives one line per range (counts and dates, never
	// identifiers); nil discards.
	Logger *slog.Logger
}

// withDefaults fills the zero fields.
func (o Options) withDefaults() Options {
	if o.Identify == nil {
		kind := o.Kind
		o.Identify = func(raw string) (change.Identifier, error) {
			if kind == change.UserID {
				return change.Identifier{Kind: change.UserID, Value: raw}, nil
			}
			v := strings.ToLower(strings.TrimSpace(raw))
			if v == "" {
				return change.Identifier{}, errors.New("empty email")
			}
			return change.Identifier{Kind: change.Email, Value: v}, nil
		}
	}
	if o.Since.IsZero() {
		o.Since = DefaultSince()
	}
	if o.Until.IsZero() {
		o.Until = time.Now()
	}
	o.Since, o.Until = o.Since.UTC().Truncate(time.Second), o.Until.UTC().Truncate(time.Second)
	if o.Chunk <= 0 {
		o.Chunk = DefaultChunk
	}
	if o.MaxChunk <= 0 {
		o.MaxChunk = DefaultMaxChunk
	}
	if o.TargetUsers <= 0 {
		o.TargetUsers = DefaultTargetUsers
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Retry == nil {
		o.Retry = func() backoff.BackOff {
			b := backoff.NewExponentialBackOff()
			b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = time.Second, time.Minute, 15*time.Minute
			return b
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
