package iterable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrTimeout marks a request that ran out of the client's per-request
// timeout. It is transient, unlike the cancellation of the caller's context.
var ErrTimeout = errors.New("iterable: request timed out")

// ErrRateLimiter marks a request that was not sent because its limiter
// failed (a Redis outage under a global limit). Unless the caller's context
// ended, it is transient: the users concerned are not at fault.
var ErrRateLimiter = errors.New("rate limiter failed")

// ErrInvalidBody marks a request that was not sent because its body is not
// valid JSON (an Attr.JSON that is not JSON). Retrying cannot help.
var ErrInvalidBody = errors.New("iterable: request body is not valid JSON")

// Refusals of single-user requests, matched with errors.Is on the
// *APIError that carries them.
var (
	// ErrEmailTaken: the new email of an updateEmail belongs to another user
	// (409 EmailAlreadyExists, or another 409 conflict).
	ErrEmailTaken = errors.New("iterable: the new email belongs to another user")
	// ErrUserForgotten: the identifier was GDPR-forgotten (409
	// ForgottenUserError).
	ErrUserForgotten = errors.New("iterable: the user is GDPR-forgotten")
	// ErrUserNotFound: the user to change does not exist (updateEmail's 400
	// "User does not exist", or an Unknown*Error code).
	ErrUserNotFound = errors.New("iterable: no such user")
)

// Codes of IterableApiResponse that the client interprets.
const (
	CodeTypeMismatch   = "RequestFieldsTypesMismatched"
	CodeBadAPIKey      = "BadApiKey"
	CodeBadParams      = "BadParams"
	CodeBadJSONBody    = "BadJsonBody"
	CodeRateLimit      = "RateLimitExceeded"
	CodeNoUserWithID   = "error.users.noUserWithIdExists"
	CodeEmailExists    = "EmailAlreadyExists"
	CodeForgotten      = "ForgottenUserError"
	CodeUnknownEmail   = "UnknownEmailError"
	CodeUnknownUserID  = "UnknownUserIdError"
	maxErrorMsgLength  = 1024
	maxRetryAfterValue = 24 * time.Hour
	redactedIdentifier = "[identifier]"
)

// APIError is a request Iterable answered with a status other than 200.
// It holds no secret: the API key is never part of a response we keep.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code and Msg come from Iterable's {msg, code, params} body; Msg is the
	// start of the raw body when it is not that JSON. Msg may quote values
	// of the request ("Invalid email: …"), so it is not in Error(); see
	// Detail.
	Code, Msg string
	// Params is the body's params as sent (for a type mismatch, the
	// validationErrors); it may hold user data, so it is not in Error().
	Params json.RawMessage
	// RetryAfter is the delay Iterable asked for: the Retry-After header,
	// else, on a 429, the time until its params.rateLimitReset; 0 if none.
	RetryAfter time.Duration
	// RateLimit holds the params of a 429 body (rateLimitLimit,
	// rateLimitRemaining, rateLimitReset), nil when it carried none:
	// Iterable documents no such params, so they are used where present.
	RateLimit *RateLimit
	// Endpoint is the API path, such as /api/users/bulkUpdate.
	Endpoint string
	// refusal is the Err* value the request's outcome means, if any.
	refusal error
}

// Is lets errors.Is match the refusal an answer means (ErrEmailTaken,
// ErrUserForgotten, ErrUserNotFound).
func (e *APIError) Is(target error) bool {
	return e.refusal != nil && e.refusal == target
}

// Error describes the failure by endpoint, status and code: it holds
// neither params nor Msg, which may quote the values sent, so it is safe to
// log at any level.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "iterable: %s: HTTP %d", e.Endpoint, e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if text := http.StatusText(e.Status); text != "" {
		b.WriteString(" " + text)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Detail is Iterable's own message: it completes Error but may quote the
// values sent, so it belongs in a dead letter (change.Failure.Detail) and in
// debug logs only.
func (e *APIError) Detail() string { return e.Msg }

// Detail returns Iterable's message behind err (see APIError.Detail), ""
// when err carries none.
func Detail(err error) string {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Msg
	}
	return ""
}

// Transient reports whether retrying the same request may succeed: 408, 429
// and 5xx other than 501 Not Implemented.
func (e *APIError) Transient() bool {
	switch {
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return true
	case e.Status == http.StatusNotImplemented:
		return false
	default:
		return e.Status >= 500 && e.Status <= 599
	}
}

// TransportError is a request that got no HTTP response: the connection
// failed, was reset, or the response could not be read.
type TransportError struct {
	Endpoint string
	Err      error
}

// Error names the endpoint and the cause.
func (e *TransportError) Error() string {
	return fmt.Sprintf("iterable: %s: %v", e.Endpoint, e.Err)
}

// Unwrap returns the cause.
func (e *TransportError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying: a network failure, the
// client's per-request timeout, a failing rate limiter, or an APIError with status 408, 429 or 5xx
// except 501. The caller's own context being cancelled or past its deadline
// is not transient, and neither is a TLS peer that cannot be trusted
// (IsTLS).
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrTimeout) {
		return true
	}
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Transient()
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, ErrRateLimiter) {
		return true
	}
	_, ok := errors.AsType[*TransportError](err)
	return ok && tlsProblem(err) == ""
}

// IsAuth reports whether Iterable refused the API key (401 or 403): the sync
// must stop, not dead-letter.
func IsAuth(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden)
}

// IsInvalidRequest reports whether Iterable refused a request as a whole for
// what it carries: 400 BadParams or BadJsonBody. attrsync's bodies are valid
// JSON, so a value of some user is the likely cause; like IsTypeMismatch,
// the answer does not say whose, and splitting the request through
// bulkUpdate finds the users to dead-letter while the rest are accepted.
func IsInvalidRequest(err error) bool {
	apiErr, ok := errors.AsType[*APIError](err)
	return ok && apiErr.Status == http.StatusBadRequest &&
		(apiErr.Code == CodeBadParams || apiErr.Code == CodeBadJSONBody)
}

// RetryAfter returns the delay a Retry-After header asked for, if err
// carries one.
func RetryAfter(err error) (time.Duration, bool) {
	apiErr, ok := errors.AsType[*APIError](err)
	if !ok || apiErr.RetryAfter <= 0 {
		return 0, false
	}
	return apiErr.RetryAfter, true
}

// FieldMismatch is one field whose value has a type other than the one the
// project fixed for it.
type FieldMismatch struct {
	ExpectedType   string          `json:"expectedType"`
	IncomingTypes  []string        `json:"incomingTypes"`
	OffendingValue json.RawMessage `json:"offendingValue"`
}

// IsTypeMismatch reports whether err is Iterable's whole-request
// RequestFieldsTypesMismatched, and which fields it names, keyed by field
// name. Keys of the form "<project>:::<field>" are reduced to the field.
// ok with an empty map means Iterable named no field the client could parse:
// the offending users must then be found by splitting the request.
func IsTypeMismatch(err error) (fields map[string]FieldMismatch, ok bool) {
	apiErr, isAPI := errors.AsType[*APIError](err)
	if !isAPI || apiErr.Code != CodeTypeMismatch {
		return nil, false
	}
	var params struct {
		ValidationErrors map[string]json.RawMessage `json:"validationErrors"`
	}
	fields = make(map[string]FieldMismatch)
	if json.Unmarshal(apiErr.Params, &params) != nil {
		return fields, true
	}
	for key, raw := range params.ValidationErrors {
		var m FieldMismatch
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		if i := strings.LastIndex(key, ":::"); i >= 0 {
			key = key[i+len(":::"):]
		}
		fields[key] = m
	}
	return fields, true
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date.
// Unparseable, negative or absurd values count as absent.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 || secs > int64(maxRetryAfterValue/time.Second) {
			return 0
		}
		return time.Duration(secs) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	d := at.Sub(now)
	if d <= 0 || d > maxRetryAfterValue {
		return 0
	}
	return d
}

// redactIdentifiers replaces the identifiers of a single-user request in
// e.Msg: Iterable names them in its messages ("Cannot change user Some(x) to
// y"), and errors are logged above debug level, where personal data must
// not appear. Params, which may hold them too, are not part of Error().
func redactIdentifiers(e *APIError, ids ...string) {
	for _, id := range ids {
		if id == "" {
			continue
		}
		e.Msg = replaceFold(e.Msg, id, redactedIdentifier)
	}
}

// replaceFold replaces every case-insensitive occurrence of old in s.
// Iterable lowercases emails, so a message may spell one differently.
func replaceFold(s, old, repl string) string {
	lower, lowOld := strings.ToLower(s), strings.ToLower(old)
	if len(lower) != len(s) || len(lowOld) != len(old) {
		// Lowercasing changed byte lengths (non-ASCII): offsets would not
		// line up, so fall back to exact matches.
		return strings.ReplaceAll(s, old, repl)
	}
	var b strings.Builder
	for {
		i := strings.Index(lower, lowOld)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(repl)
		s, lower = s[i+len(old):], lower[i+len(old):]
	}
}
