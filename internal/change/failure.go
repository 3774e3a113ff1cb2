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
)

// Failure is a reason to dead-letter a message. It never carries secrets.
type Failure struct {
	Class  Class
	Reason string
	// HTTPStatus is the Iterable status that decided the failure, 0 if none.
	HTTPStatus int
	// Attempts is how many times the request was tried, 0 if never sent.
	Attempts int
}

// Error makes a Failure usable as an error.
func (f *Failure) Error() string { return fmt.Sprintf("%s: %s", f.Class, f.Reason) }

// Fail builds a Failure of class c with a formatted reason.
func Fail(c Class, format string, args ...any) *Failure {
	return &Failure{Class: c, Reason: fmt.Sprintf(format, args...)}
}
