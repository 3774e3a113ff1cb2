package cdc

import (
	"strconv"

	"github.com/attrsync/attrsync/internal/change"
)

// failf builds a class decode failure.
func failf(format string, args ...any) error {
	return change.Fail(change.ClassDecode, format, args...)
}

// notObject explains a top-level value that is not an object: invalid JSON
// gets its syntax error, valid JSON of the wrong kind a plain reason.
func notObject(r *reader) error {
	if r.peek() == 0 {
		return r.unexpected()
	}
	if err := r.skip(); err != nil {
		return err
	}
	if err := r.end(); err != nil {
		return err
	}
	return failf("value is not a JSON object")
}

// nullValue reads a JSON null value: a tombstone written as text.
func nullValue(r *reader) (change.Row, error) {
	if err := r.literal("null"); err != nil {
		return change.Row{}, err
	}
	if err := r.end(); err != nil {
		return change.Row{}, err
	}
	return tombstone(), nil
}

// quoteShort quotes s for a failure reason, cut to a readable length: the
// value comes from the message and may be anything.
func quoteShort(s string) string {
	const limit = 32
	if len(s) > limit {
		return strconv.Quote(s[:limit]) + "…"
	}
	return strconv.Quote(s)
}
