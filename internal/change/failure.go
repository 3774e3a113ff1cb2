package change

import "fmt"

// Class names why a message was dead-lettered. The values are written to the
// __connect.errors.exception.class.name DLQ header and used as a metric label.
type Class string

// The failure classes of SPEC §3.
const (
	ClassDecode           Class = "decode"
	ClassIdentifier       Class = "identifier"
	ClassConvert          Class = "convert"
	ClassRejected         Class = "iterable_rejected"
	ClassTypeMismatch     Class = "type_mismatch"
	ClassRetriesExhausted Class = "retries_exhausted"
	// ClassTooLarge is a user whose changed attributes alone exceed
	// batch.max_bytes: no request could carry it, so it is never sent.
	ClassTooLarge Class = "too_large"
	// ClassEmailChange is a row whose email changed and whose profile
	// Iterable refused to move (users/updateEmail): the new email belongs
	// to another profile, or was GDPR-forgotten. Nothing of the message was
	// written, so the old profile stays as it was.
	ClassEmailChange Class = "email_change"
)

// Failure is a reason to dead-letter a message. It never carries secrets.
//
// It comes in two parts because logs and dead letters have different
// readers: Reason (and Error) may be logged at any level, while Detail is
// personal data that only the dead-letter record and debug logs may hold.
type Failure struct {
	Class Class
	// Reason says what went wrong without any value of the message and
	// without text of Iterable's that may quote one: it names attributes,
	// types, classes and statuses only. Safe to log at info and warn.
	Reason string
	// Detail completes Reason with what it must not carry: the offending
	// value, Iterable's own message. It may be empty. Write it only to the
	// dead-letter record (see Message) and to debug logs.
	Detail string
	// HTTPStatus is the Iterable status that decided the failure, 0 if none.
	HTTPStatus int
	// Attempts is how many times the request was tried, 0 if never sent.
	Attempts int
}

// Error is the class and Reason: safe to log at any level.
func (f *Failure) Error() string { return fmt.Sprintf("%s: %s", f.Class, f.Reason) }

// Message is the whole account of the failure, Reason then Detail, for the
// dead-letter record that keeps the original message anyway.
func (f *Failure) Message() string {
	if f.Detail == "" {
		return f.Reason
	}
	return f.Reason + "; " + f.Detail
}

// Fail builds a Failure of class c with a formatted reason. The arguments
// must hold no value of the message; see Failure.Detail for those.
func Fail(c Class, format string, args ...any) *Failure {
	return &Failure{Class: c, Reason: fmt.Sprintf(format, args...)}
}
