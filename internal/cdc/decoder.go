package cdc

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/attrsync/attrsync/internal/change"
)

// The accepted values of source.format.
const (
	FormatDebezium = "debezium"
	FormatFlat     = "flat"
	FormatJSON     = "json"
	// FormatAvro and FormatProtobuf are Debezium change events in the
	// Confluent wire format, written by Confluent's AvroConverter and
	// ProtobufConverter, with their schemas in a schema registry.
	FormatAvro     = "avro"
	FormatProtobuf = "protobuf"
)

// Why an OpSkip row is skipped (change.Row.Skip). They are metric labels.
const (
	SkipHeartbeat    = "heartbeat"     // Debezium heartbeat message
	SkipSchemaChange = "schema_change" // DDL / schema history event
	SkipTransaction  = "transaction"   // transaction metadata BEGIN / END
	SkipTruncate     = "truncate"      // op "t": Iterable has no "all users" operation
	SkipMessage      = "message"       // op "m": a logical decoding message, not a row
)

// Decoder turns Kafka message values of one format into rows. It is safe
// for concurrent use by any number of partition workers: its only mutable
// part is a lock-free cache of the schemas it has read.
type Decoder struct {
	format string
	// keep, when not nil, names the only top-level row fields to build;
	// only lists them in the order OnlyFields was given them.
	keep map[string]struct{}
	only []string
	// before, when not nil, names the top-level fields to build from the
	// before image of an update (WithBefore); beforeOnly lists them.
	before     keepSet
	beforeOnly []string
	// byIndex says a Debezium JSON update holds its after row and before
	// image by index (ByIndex), in the orders only and beforeOnly give:
	// see change.Columns and indexed.
	byIndex bool

	schemas schemaCache
	// reg and bin serve the binary formats; bin is nil for the JSON ones.
	reg *Registry
	bin binaryFormat
	// borrow says rows may alias the message value (BorrowValue).
	borrow bool
	// noLayouts makes the decoder read rows without the layouts of their
	// schemas, which must give the same rows: tests compare the two.
	noLayouts bool
	// cols holds the storage of recycled rows' Columns (Recycle).
	cols change.ColumnsPool
}

// Option tunes a Decoder.
type Option func(*Decoder)

// OnlyFields makes the decoder build just the named top-level row fields
// (and their logical types), validating and skipping the rest. A sync passes
// the fields its mapping reads (mapping.Mapper.SourceFields) so that wide
// tables cost little. With no names every field is kept.
func OnlyFields(names ...string) Option {
	return func(d *Decoder) {
		d.only = nil
		if len(names) == 0 {
			d.keep = nil
			return
		}
		d.only = append([]string(nil), names...)
		d.keep = make(map[string]struct{}, len(names))
		for _, n := range names {
			d.keep[n] = struct{}{}
		}
	}
}

// WithBefore makes the decoder build the named top-level fields of an
// update's before image into change.Row.Before, when the message carries
// one (Postgres under REPLICA IDENTITY FULL, MySQL always). A sync that
// follows email changes passes the identifier's field: the before image then
// says which email the row had. With no names no before image is read, and
// updates cost what they did.
func WithBefore(names ...string) Option {
	return func(d *Decoder) {
		d.before, d.beforeOnly = nil, nil
		if len(names) == 0 {
			return
		}
		d.beforeOnly = append([]string(nil), names...)
		d.before = make(keepSet, len(names))
		for _, n := range names {
			d.before[n] = struct{}{}
		}
	}
}

// ByIndex makes the debezium format hold the fields OnlyFields and
// WithBefore name in change.Row.Cols and BeforeCols, in the order they were
// given, rather than in the Fields and Before maps, which for a mapping of
// a dozen fields cost more than decoding them. Read such rows with
// change.Row.Field and BeforeField. Deletes and the other formats still
// fill the maps, as does everything without OnlyFields.
func ByIndex() Option {
	return func(d *Decoder) { d.byIndex = true }
}

// indexed is order when rows hold their fields by index in it (ByIndex),
// else nil; order is only or beforeOnly, nil when every field is kept.
func (d *Decoder) indexed(order []string) []string {
	if !d.byIndex {
		return nil
	}
	return order
}

// BorrowValue lets the JSON formats' rows alias the message value instead
// of a copy of it: their strings are then the value's own bytes. The caller
// promises not to modify a value while a row decoded from it is in use.
// The pipeline can: a fetched message's value is its own allocation, held
// unmodified until the message is finished, and the mapping copies what
// outlives the row. It saves copying every message once more.
func BorrowValue() Option {
	return func(d *Decoder) { d.borrow = true }
}

// WithRegistry gives the decoder the schema registry that the binary
// formats (avro, protobuf) read their schemas from; they require one. The
// JSON formats ignore it.
func WithRegistry(r *Registry) Option {
	return func(d *Decoder) { d.reg = r }
}

// New returns a decoder for format: "debezium", "flat", "json", or, with
// WithRegistry, "avro" or "protobuf".
func New(format string, opts ...Option) (*Decoder, error) {
	switch format {
	case FormatDebezium, FormatFlat, FormatJSON, FormatAvro, FormatProtobuf:
	default:
		return nil, fmt.Errorf("cdc: unknown source format %q (want debezium, flat, json, avro or protobuf)", format)
	}
	d := &Decoder{format: format}
	for _, o := range opts {
		o(d)
	}
	d.byIndex = d.byIndex && format == FormatDebezium
	switch format {
	case FormatAvro, FormatProtobuf:
		if d.reg == nil {
			return nil, fmt.Errorf("cdc: source format %s needs a schema registry", format)
		}
		if format == FormatAvro {
			d.bin = &avroDecoder{reg: d.reg, keep: d.keep, before: d.before}
		} else {
			d.bin = &protoDecoder{reg: d.reg, keep: d.keep, before: d.before}
		}
	}
	return d, nil
}

// Format returns the format the decoder reads.
func (d *Decoder) Format() string { return d.format }

// Decode turns one message into a row. The key is not needed by any format
// today (a tombstone carries no row, and every format repeats the key
// columns in the value), so it is not read, whatever its format; it is
// accepted so callers need not change when a format does. Every error is a
// *change.Failure of class decode, except, for the binary formats, errors
// that wrap ErrUnavailable: the schema registry could not be asked, and
// the message is to be tried again later rather than dead-lettered.
//
// The row does not alias value, unless the decoder was made with
// BorrowValue. Its LogicalTypes map is shared by all rows
// decoded with the same schema: read it, never modify it.
func (d *Decoder) Decode(key, value []byte) (change.Row, error) {
	return d.DecodeContext(context.Background(), key, value)
}

// DecodeContext is Decode with a context that bounds a wait for the schema
// registry (binary formats only: the JSON formats never wait). A cancelled
// context gives an error wrapping ErrUnavailable.
func (d *Decoder) DecodeContext(ctx context.Context, key, value []byte) (change.Row, error) {
	_ = key
	if len(value) == 0 {
		return tombstone(), nil
	}
	if d.bin != nil {
		return d.bin.decode(ctx, value)
	}
	if row, ok, err := d.afterCachedSchema(value); ok {
		if err != nil {
			return change.Row{}, decodeFailure(err)
		}
		return row, nil
	}
	// One copy of the message; everything the row holds is a substring.
	r := reader{s: d.text(value)}
	var (
		row change.Row
		err error
	)
	switch d.format {
	case FormatDebezium:
		row, err = d.debezium(&r)
	case FormatFlat:
		row, err = d.flat(&r)
	default:
		row, err = d.plain(&r)
	}
	if err != nil {
		return change.Row{}, decodeFailure(err)
	}
	return row, nil
}

// afterCachedSchema is the fast path for wrapped messages whose schema the
// decoder has met before, the common case: the schema is matched against
// the cache on the message bytes, and only the rest of the message (the
// payload, a quarter of it for Debezium) is converted to a string and
// read. ok is false when the path does not apply.
func (d *Decoder) afterCachedSchema(value []byte) (_ change.Row, ok bool, _ error) {
	if d.format == FormatJSON {
		return change.Row{}, false, nil
	}
	i := skipSpace(value, 0)
	const member = `"schema"`
	if i >= len(value) || value[i] != '{' {
		return change.Row{}, false, nil
	}
	i = skipSpace(value, i+1)
	if len(value)-i < len(member) || string(value[i:i+len(member)]) != member {
		return change.Row{}, false, nil
	}
	i = skipSpace(value, i+len(member))
	if i >= len(value) || value[i] != ':' {
		return change.Row{}, false, nil
	}
	i = skipSpace(value, i+1)
	e := d.schemas.lookupBytes(value[i:])
	if e == nil {
		return change.Row{}, false, nil
	}
	i += len(e.text)
	r := reader{s: d.text(value[i:]), depth: 1, base: i}
	if d.format == FormatDebezium {
		t := debeziumTop{sc: e.hints, hasSchema: true}
		row, err := d.debeziumRest(&r, &t, false)
		return row, true, err
	}
	sc, payload, wrapped, err := d.flatWrapper(&r, e.hints, true)
	if err != nil {
		return change.Row{}, true, err
	}
	if !wrapped {
		// A row whose first column happens to be called schema: read it
		// whole on the usual path.
		return change.Row{}, false, nil
	}
	row, err := d.flatRest(&r, sc, payload, true)
	return row, true, err
}

// Recycle takes back the storage of row's Columns (ByIndex), for the next
// rows to be decoded into. Call it once nothing reads row any more, nor
// anything taken from its Columns other than their values: a row not
// recycled is simply collected.
func (d *Decoder) Recycle(row change.Row) {
	d.cols.Put(row.Cols)
	d.cols.Put(row.BeforeCols)
}

// text is b as the string the reader reads: a copy, or with BorrowValue
// b's own bytes.
func (d *Decoder) text(b []byte) string {
	if d.borrow && len(b) > 0 {
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return string(b)
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// tombstone is the row of a null message value: the row is gone and nothing
// more is known about it.
func tombstone() change.Row { return change.Row{Op: change.OpDelete} }

// keeps reports whether the top-level field name is to be built.
func (d *Decoder) keeps(name string) bool {
	if d.keep == nil {
		return true
	}
	_, ok := d.keep[name]
	return ok
}

// keepFunc is keeps as a filter for reader.object, nil when all are kept so
// that the reader does not pay for a call per member.
func (d *Decoder) keepFunc() func(string) bool {
	if d.keep == nil {
		return nil
	}
	return d.keeps
}

// decodeFailure wraps any decoding problem as a class decode failure.
func decodeFailure(err error) error {
	var f *change.Failure
	if errors.As(err, &f) {
		return f
	}
	return change.Fail(change.ClassDecode, "%s", err.Error())
}

// millis converts an epoch-milliseconds JSON number to a time; anything
// else (absent, not an integer) is the zero time, because the source time
// only feeds metrics and must not fail a message.
func millis(n string) time.Time {
	var v int64
	if n == "" || len(n) > 18 {
		return time.Time{}
	}
	neg := n[0] == '-'
	if neg {
		n = n[1:]
	}
	if n == "" {
		return time.Time{}
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c < '0' || c > '9' {
			return time.Time{}
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return time.UnixMilli(v).UTC()
}
