package cdc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/twmb/franz-go/pkg/sr"
)

// The binary formats (Avro, Protobuf) share the Confluent wire format and
// everything after reading a record: which Debezium message it is, and how
// an envelope becomes a row. The rules are the JSON decoder's, so a sync
// behaves the same whichever converter wrote its topic.

// binaryFormat decodes the value of one binary message (non-empty).
type binaryFormat interface {
	decode(ctx context.Context, value []byte) (change.Row, error)
}

// recordKind is what a value schema says its messages are. Debezium gives
// each kind its own schema, so the schema decides once for all messages.
type recordKind uint8

const (
	kindUnknown      recordKind = iota // no op: a failure per message
	kindEnvelope                       // a change event
	kindHeartbeat                      // io.debezium.connector.common.Heartbeat
	kindSchemaChange                   // DDL / schema history
	kindTransaction                    // transaction metadata BEGIN / END
)

// classify tells the kind of a record from its full name and field names,
// with the same clues the JSON decoder reads from a message.
func classify(name string, has func(field string) bool, fields int) recordKind {
	switch {
	case has("op"):
		return kindEnvelope
	case isSchemaChangeSchema(name) || (has("ddl") && (has("tableChanges") || has("historyRecord") || has("databaseName"))):
		return kindSchemaChange
	case isTransactionSchema(name) || (has("id") && has("status") && has("event_count")):
		return kindTransaction
	case isHeartbeatSchema(name) || (fields == 1 && has("ts_ms")):
		return kindHeartbeat
	}
	return kindUnknown
}

// binEnvelope is what a binary decoder read from one record.
type binEnvelope struct {
	op string
	// row is the after image (c, u, r) or the before image (d), nil when
	// the record holds null there.
	row map[string]any
	// before is an update's before image, kept to the fields WithBefore
	// names; nil when not asked for or not sent.
	before      map[string]any
	sourceTs    int64
	hasSourceTs bool
	tsMs        int64
	hasTsMs     bool
}

// sourceTime is the JSON decoder's choice of time: the source's ts_ms,
// else the envelope's.
func (e *binEnvelope) sourceTime() time.Time {
	if e.hasSourceTs {
		if t := epochMillis(e.sourceTs); !t.IsZero() {
			return t
		}
	}
	if e.hasTsMs {
		return epochMillis(e.tsMs)
	}
	return time.Time{}
}

// epochMillis is millis for a number already read: the zero time beyond
// 18 digits, as there.
func epochMillis(ms int64) time.Time {
	const limit = 1e18
	if ms >= limit || ms <= -limit {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// skipOrFail is the row of a record that is not a change event.
func skipOrFail(kind recordKind, e *binEnvelope) (change.Row, error) {
	row := change.Row{SourceTime: e.sourceTime()}
	switch kind {
	case kindHeartbeat:
		return skipRow(row, SkipHeartbeat), nil
	case kindSchemaChange:
		return skipRow(row, SkipSchemaChange), nil
	case kindTransaction:
		return skipRow(row, SkipTransaction), nil
	}
	return change.Row{}, failf("not a Debezium change event: no op")
}

// needsBefore reports whether an op reads the before image.
func needsBefore(op string) bool { return op == "d" }

// wantsBefore reports whether an op also reads the before image, for the
// fields of before (WithBefore): an update.
func wantsBefore(op string, before keepSet) bool { return op == "u" && before != nil }

// envelopeRow turns a change event into a row. logical holds the logical
// types of the row's kept fields (nil if none).
func envelopeRow(e *binEnvelope, logical map[string]string) (change.Row, error) {
	row := change.Row{SourceTime: e.sourceTime()}
	switch e.op {
	case "c", "u", "r":
		if e.row == nil {
			return change.Row{}, failf("after is not an object (op %q)", e.op)
		}
		row.Op = change.OpUpsert
		row.Fields = e.row
		row.LogicalTypes = logical
		row.Before = e.before
	case "d":
		row.Op = change.OpDelete
		if e.row != nil {
			row.Fields = e.row
			row.LogicalTypes = logical
		}
	case "t":
		return skipRow(row, SkipTruncate), nil
	case "m":
		return skipRow(row, SkipMessage), nil
	default:
		return change.Row{}, failf("unknown op %s", quoteShort(e.op))
	}
	return row, nil
}

// confluentID splits the Confluent wire format header (magic byte 0, schema
// id as 4 bytes big-endian) from the rest of the value.
func confluentID(value []byte) (int, []byte, error) {
	var h sr.ConfluentHeader
	id, rest, err := h.DecodeID(value)
	if err != nil {
		return 0, nil, failf("not in the Confluent wire format: no magic byte 0 and schema id")
	}
	return id, rest, nil
}

// schemaFailure turns a registry error into the decoder's terms: transient
// errors pass as they are (they wrap ErrUnavailable), a schema the registry
// does not know is a decode failure.
func schemaFailure(id int, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return failf("schema id %d: %s", id, err.Error())
}

// planCache holds what a decoder compiled from each schema id, or why it
// could not: a schema under an id never changes, so neither outcome does.
// Transient registry failures are not kept.
type planCache[P any] struct {
	m sync.Map // int → *planEntry[P]
}

type planEntry[P any] struct {
	plan P
	err  error
}

// get returns the plan of id, compiling it with build on first use.
// Concurrent first uses may both build; one result is kept.
func (c *planCache[P]) get(id int, build func() (P, error)) (P, error) {
	if e, ok := c.m.Load(id); ok {
		pe := e.(*planEntry[P])
		return pe.plan, pe.err
	}
	p, err := build()
	if err != nil && (errors.Is(err, ErrUnavailable) || isNotFound(err)) {
		// Not a property of the schema: ask again next time (the registry
		// rate-limits asking about unknown ids itself).
		return p, err
	}
	e, _ := c.m.LoadOrStore(id, &planEntry[P]{plan: p, err: err})
	pe := e.(*planEntry[P])
	return pe.plan, pe.err
}

// keepSet is OnlyFields as a filter: nil keeps every field.
type keepSet map[string]struct{}

func (k keepSet) keeps(name string) bool {
	if k == nil {
		return true
	}
	_, ok := k[name]
	return ok
}

// union is the set of columns either keeps; nil (every column) if either
// is nil.
func (k keepSet) union(o keepSet) keepSet {
	if k == nil || o == nil {
		return nil
	}
	out := make(keepSet, len(k)+len(o))
	for n := range k {
		out[n] = struct{}{}
	}
	for n := range o {
		out[n] = struct{}{}
	}
	return out
}

// trim deletes from row the columns k does not keep, and returns it.
func (k keepSet) trim(row map[string]any) map[string]any {
	if k == nil {
		return row
	}
	for n := range row {
		if !k.keeps(n) {
			delete(row, n)
		}
	}
	return row
}

// fullName joins a namespace and a name the way Avro and Protobuf do.
func fullName(namespace, name string) string {
	if namespace == "" || strings.Contains(name, ".") {
		return name
	}
	return namespace + "." + name
}
