package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/cenkalti/backoff/v4"
)

// exhaustedError is a transient failure that outlasted retry.max_elapsed.
type exhaustedError struct {
	attempts int
	err      error
}

func (e *exhaustedError) Error() string {
	return fmt.Sprintf("gave up after %d attempts: %v", e.attempts, e.err)
}

func (e *exhaustedError) Unwrap() error { return e.err }

// permanent wraps an error that retry must return at once.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }

func (s *Session) backoff(maxElapsed time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = s.p.cfg.RetryInitial
	b.MaxInterval = s.p.cfg.RetryMax
	b.MaxElapsedTime = maxElapsed
	b.Reset()
	return b
}

// retryIterable runs call until it succeeds, fails permanently, or
// transient failures outlast retry.max_elapsed, and returns how many
// attempts it made. before, if not nil, runs ahead of every attempt but the
// first (a new rate-limit turn, a renewed intent); its error ends the
// retries. While Iterable refuses the API key (or its certificate) the
// pipeline reports not-ready and call waits until a probe finds the key
// accepted again: nothing is dead-lettered for it, and time spent refused
// does not count against retry.max_elapsed.
func (s *Session) retryIterable(ctx context.Context, call func(context.Context) error, before func() error) (int, error) {
	b := s.backoff(s.p.cfg.RetryMaxElapsed)
	attempts := 0
	for {
		if attempts > 0 && before != nil {
			if err := before(); err != nil {
				return attempts, err
			}
		}
		attempts++
		err := call(ctx)
		if err == nil {
			s.p.auth.succeed()
			return attempts, nil
		}
		if ctx.Err() != nil {
			return attempts, ctx.Err()
		}
		switch {
		case iterable.IsAuth(err) || iterable.IsTLS(err):
			s.p.auth.fail(err)
			if err := s.p.auth.wait(ctx); err != nil {
				return attempts, err
			}
			b.Reset()
		case iterable.IsTransient(err):
			wait := b.NextBackOff()
			if wait == backoff.Stop {
				return attempts, &exhaustedError{attempts: attempts, err: err}
			}
			if ra, ok := iterable.RetryAfter(err); ok && ra > wait {
				wait = ra
			}
			s.p.stats.Retries.Add(1)
			s.p.Log.Debug("iterable: transient failure, retrying", "err", err, "in", wait)
			if err := sleep(ctx, wait); err != nil {
				return attempts, err
			}
		default:
			return attempts, err
		}
	}
}

// retry retries op (a Redis call, a dead-letter write, a rate-limit turn,
// a decode waiting on a registry) with the configured backoff, without
// limit, until it succeeds or ctx ends: an outage pauses the sync instead of
// losing or dead-lettering anything. An error wrapped in permanent ends it
// at once.
func (s *Session) retry(ctx context.Context, what string, op func() error) error {
	return s.retryAfter(ctx, what, op(), op)
}

// retryAfter is retry going on from a first attempt that returned err, for
// callers that make the first attempt themselves (see Session.decode).
func (s *Session) retryAfter(ctx context.Context, what string, err error, op func() error) error {
	var b *backoff.ExponentialBackOff
	for {
		var perm permanent
		if err == nil || errors.As(err, &perm) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if b == nil {
			b = s.backoff(0)
		}
		wait := b.NextBackOff()
		s.p.Log.Warn("retrying", "op", what, "err", err, "in", wait)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		err = op()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// statusOf is the HTTP status behind an Iterable error: 200 for success,
// 0 when no answer came.
func statusOf(err error) int {
	if err == nil {
		return 200
	}
	var apiErr *iterable.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Status
	}
	return 0
}

// failureOfCall is the dead-letter failure of a call to Iterable that failed
// for good: retries_exhausted after max_elapsed, else iterable_rejected.
func failureOfCall(err error, what string) *change.Failure {
	class := change.ClassRejected
	var exhausted *exhaustedError
	attempts := 1
	if errors.As(err, &exhausted) {
		class, attempts = change.ClassRetriesExhausted, exhausted.attempts
	}
	return &change.Failure{Class: class, Reason: fmt.Sprintf("could not %s: %v", what, err), Detail: iterable.Detail(err), HTTPStatus: statusOf(err), Attempts: attempts}
}
