package change

import "time"

// Op says what a decoded CDC message asks for.
type Op uint8

const (
	// OpUpsert carries the row as it is now (Debezium c, u and r).
	OpUpsert Op = iota + 1
	// OpDelete says the row is gone (Debezium d, a tombstone, __deleted=true).
	OpDelete
	// OpSkip marks a message that is not a row change (heartbeat, schema
	// change, transaction marker); Row.Skip says which.
	OpSkip
)

// String names the op for logs and metrics.
func (o Op) String() string {
	switch o {
	case OpUpsert:
		return "upsert"
	case OpDelete:
		return "delete"
	case OpSkip:
		return "skip"
	}
	return "unknown"
}

// Row is one decoded CDC message.
type Row struct {
	Op Op
	// Fields is the row as decoded JSON: nested objects are map[string]any,
	// numbers are json.Number so that no precision is lost before mapping.
	// For a delete it holds the last known row (Debezium's before) when the
	// source sent one; it may be empty.
	Fields map[string]any
	// Before is the row as it was before an update (Debezium's before
	// image), holding only the fields the decoder was asked to keep from it
	// (cdc.WithBefore), nil when the source sent none (Postgres sends one
	// only under REPLICA IDENTITY FULL) or none was asked for.
	Before map[string]any
	// Cols and BeforeCols, when not empty, hold what Fields and Before
	// would (which are then nil) by position: see Columns. Read a row's
	// fields with Field and BeforeField, which hide the difference.
	Cols, BeforeCols Columns
	// LogicalTypes names the Debezium logical type of a top-level field when
	// the message carried a schema (for example "io.debezium.time.MicroTimestamp").
	LogicalTypes map[string]string
	// SourceTime is when the change happened at the source (Debezium
	// source.ts_ms or ts_ms), zero when the message does not say.
	SourceTime time.Time
	// Skip says why an OpSkip message is skipped: "heartbeat",
	// "schema_change", "transaction", "truncate" or "message".
	Skip string
}

// Field returns the top-level field name, at index i of the decoder's field
// order when the row holds Columns, and whether it is present.
func (r *Row) Field(i int, name string) (any, bool) {
	return field(r.Fields, r.Cols, i, name)
}

// BeforeField is Field for the before image.
func (r *Row) BeforeField(i int, name string) (any, bool) {
	return field(r.Before, r.BeforeCols, i, name)
}

// FieldText is Field for a string or a number, read without boxing it: s
// is the string, or the number's text when number is set. ok is false when
// the field is absent, null or of another kind.
func (r *Row) FieldText(i int, name string) (s string, number, ok bool) {
	return fieldText(r.Fields, r.Cols, i, name)
}

// BeforeFieldText is FieldText for the before image.
func (r *Row) BeforeFieldText(i int, name string) (s string, number, ok bool) {
	return fieldText(r.Before, r.BeforeCols, i, name)
}

// HasBefore reports whether the row carries a before image.
func (r *Row) HasBefore() bool { return r.Before != nil || r.BeforeCols.Len() > 0 }

func field(m map[string]any, c Columns, i int, name string) (any, bool) {
	if c.Len() == 0 {
		v, ok := m[name]
		return v, ok
	}
	if v, present, ok := c.At(i, name); ok {
		return v, present
	}
	return c.Lookup(name)
}

func fieldText(m map[string]any, c Columns, i int, name string) (string, bool, bool) {
	if c.Len() == 0 {
		return TextOf(m[name])
	}
	if !c.named(i, name) {
		if i = c.Index(name); i < 0 {
			return "", false, false
		}
	}
	return c.cells[i].text()
}

// Unindexed returns the row with what its Columns hold moved into Fields
// and Before: the row a decoder that does not decode by index gives.
// Tests compare rows so; code off the hot path may read maps so.
func (r Row) Unindexed() Row {
	if r.Cols.Len() > 0 {
		r.Fields, r.Cols = r.Cols.Map(), Columns{}
	}
	if r.BeforeCols.Len() > 0 {
		r.Before, r.BeforeCols = r.BeforeCols.Map(), Columns{}
	}
	return r
}
