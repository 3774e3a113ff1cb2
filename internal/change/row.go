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
