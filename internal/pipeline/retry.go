package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

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

func (s *session) backoff(maxElapsed time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = s.p.cfg.Retry.InitialInterval
	b.MaxInterval = s.p.cfg.Retry.MaxInterval
	b.MaxElapsedTime = maxElapsed
	b.Reset()
	return b
}

// retryIterable runs call until it succeeds, fails permanently, or transient
// failures outlast retry.max_elapsed. While Iterable refuses the API key the
// pipeline reports not-ready and keeps trying at the longest interval:
// nothing is dead-lettered for an auth failure, and consumption stalls
// behind the users held here.
func (s *session) retryIterable(ctx context.Context, call func() error) error {
	b := s.backoff(s.p.cfg.Retry.MaxElapsed)
	attempts := 0
	authWait := false // the last failure was an auth refusal
	for {
		attempts++
		err := call()
		if err == nil {
			s.p.authOK()
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		switch {
		case iterable.IsAuth(err):
			s.p.authFailed(err)
			wait = s.p.cfg.Retry.MaxInterval
			authWait = true
		case iterable.IsTransient(err):
			if authWait {
				// max_elapsed bounds transient failures; time spent waiting
				// for the key to be accepted again is not one.
				b.Reset()
				authWait = false
			}
			wait = b.NextBackOff()
			if wait == backoff.Stop {
				return &exhaustedError{attempts: attempts, err: err}
			}
			if ra, ok := iterable.RetryAfter(err); ok && ra > wait {
				wait = ra
			}
			s.p.stats.Retries.Add(1)
			s.p.log.Debug("iterable: transient failure, retrying", "err", err, "in", wait)
		default:
			return err
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retry retries op (a Redis or dead-letter write) with the configured
// backoff, without limit, until it succeeds or ctx ends: an outage pauses
// the sync instead of losing or dead-lettering anything.
func (s *session) retry(ctx context.Context, what string, op func() error) error {
	b := s.backoff(0)
	for {
		err := op()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		wait := b.NextBackOff()
		s.p.log.Warn("retrying", "op", what, "err", err, "in", wait)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
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
