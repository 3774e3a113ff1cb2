package cdc

import (
	"github.com/attrsync/attrsync/internal/change"
)

// envelope is what one pass over a Debezium envelope object keeps: the
// after row built (it is what c/u/r need), the before row located (a delete
// needs it) and, under WithBefore, built for the fields an update's before
// image is read for, and enough of the other members to recognise
// heartbeats, schema changes and transaction markers.
type envelope struct {
	members      int
	op           string
	hasOp        bool
	after        map[string]any
	before       span
	beforeImage  map[string]any
	sourceTs     string
	tsMs         string
	hasTsMs      bool
	schemaChange bool
	status       string
	hasID        bool
	// afterCols and beforeCols replace after and beforeImage under ByIndex.
	afterCols, beforeCols change.Columns
}

// debeziumTop is what the pass over the top-level object of a Debezium
// message collects: the members of a bare envelope, or the schema and the
// envelope of the wrapper.
type debeziumTop struct {
	top, inner  envelope
	sc          hints
	wrapped     bool
	payloadNull bool
	hasSchema   bool
}

// debezium decodes a Debezium change event, bare or wrapped.
func (d *Decoder) debezium(r *reader) (change.Row, error) {
	switch r.peek() {
	case '{':
	case 'n':
		return nullValue(r)
	default:
		return change.Row{}, notObject(r)
	}
	if err := r.beginObject(); err != nil {
		return change.Row{}, err
	}
	var t debeziumTop
	return d.debeziumRest(r, &t, true)
}

// debeziumRest reads the remaining members of the top-level object and
// makes the row. first says whether no member has been read yet.
func (d *Decoder) debeziumRest(r *reader, t *debeziumTop, first bool) (change.Row, error) {
	for ; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return change.Row{}, err
		}
		if !ok {
			break
		}
		switch k {
		case "schema":
			t.hasSchema = true
			t.sc, err = d.schema(r)
		case "payload":
			t.wrapped = true
			switch r.peek() {
			case '{':
				err = d.readEnvelope(r, &t.inner, &t.sc)
			case 'n':
				t.payloadNull = true
				err = r.literal("null")
			default:
				return change.Row{}, failf("payload is not an object")
			}
		default:
			err = d.envelopeMember(r, k, &t.top, &t.sc)
		}
		if err != nil {
			return change.Row{}, err
		}
	}
	if err := r.end(); err != nil {
		return change.Row{}, err
	}
	env := &t.top
	switch {
	case t.wrapped && t.top.members > 0:
		return change.Row{}, failf("payload next to envelope members: neither a bare envelope nor a schema/payload wrapper")
	case t.wrapped && t.payloadNull:
		return tombstone(), nil
	case t.wrapped:
		env = &t.inner
	case t.hasSchema:
		return change.Row{}, failf("schema without payload")
	}
	return d.fromEnvelope(r.s, env, t.sc)
}

// readEnvelope reads the envelope object at r. sc is what the schema told,
// if one came before the envelope: its layouts make rows cheaper to read.
func (d *Decoder) readEnvelope(r *reader, e *envelope, sc *hints) error {
	if err := r.beginObject(); err != nil {
		return err
	}
	for first := true; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		if err := d.envelopeMember(r, k, e, sc); err != nil {
			return err
		}
	}
}

// envelopeMember reads the value of envelope member k; sc is as for
// readEnvelope.
func (d *Decoder) envelopeMember(r *reader, k string, e *envelope, sc *hints) error {
	e.members++
	var err error
	switch k {
	case "op":
		if r.peek() != '"' {
			return failf("op is not a string")
		}
		e.hasOp = true
		e.op, err = r.str()
	case "after":
		switch r.peek() {
		case '{':
			if order := d.indexed(d.only); order != nil {
				e.afterCols = d.cols.Get(order)
				err = r.columns(sc.afterLayout, e.afterCols)
				break
			}
			e.after, err = r.object(d.keepFunc(), len(d.keep), sc.afterLayout, true)
		case 'n':
			e.after, e.afterCols = nil, change.Columns{}
			err = r.literal("null")
		default:
			return failf("after is not an object")
		}
	case "before":
		switch r.peek() {
		case '{':
			if d.before == nil {
				e.before, err = r.spanFast()
				break
			}
			// The op usually comes last, so whether this is an update's
			// before image is not known yet. Reading the few fields
			// WithBefore names now costs one pass over the image where
			// locating it and reading it after the op took two; only a
			// delete, which needs other fields, reads it again.
			start := r.i
			if order := d.indexed(d.beforeOnly); order != nil {
				e.beforeCols = d.cols.Get(order)
				err = r.columns(sc.beforeLayout, e.beforeCols)
			} else {
				e.beforeImage, err = r.object(d.before.keeps, len(d.before), sc.beforeLayout, true)
			}
			e.before = span{start: start, end: r.i}
		case 'n':
			e.before, e.beforeImage, e.beforeCols = span{}, nil, change.Columns{}
			err = r.literal("null")
		default:
			return failf("before is not an object")
		}
	case "source":
		e.sourceTs, err = readSourceTs(r)
	case "ts_ms":
		e.hasTsMs = true
		e.tsMs, err = numberOrSkip(r)
	case "ddl", "tableChanges", "historyRecord":
		e.schemaChange = true
		err = r.skipFast()
	case "status":
		if r.peek() == '"' {
			e.status, err = r.str()
		} else {
			err = r.skip()
		}
	case "id":
		e.hasID = true
		err = r.skipFast()
	default:
		err = r.skipFast()
	}
	return err
}

// fromEnvelope turns a read envelope into a row.
func (d *Decoder) fromEnvelope(s string, e *envelope, sc hints) (change.Row, error) {
	row := change.Row{SourceTime: millis(e.sourceTs)}
	if row.SourceTime.IsZero() {
		row.SourceTime = millis(e.tsMs)
	}
	if !e.hasOp {
		switch {
		case e.schemaChange || isSchemaChangeSchema(sc.name):
			return skipRow(row, SkipSchemaChange), nil
		case isTransactionSchema(sc.name) || (e.hasID && (e.status == "BEGIN" || e.status == "END")):
			return skipRow(row, SkipTransaction), nil
		case isHeartbeatSchema(sc.name) || (e.hasTsMs && e.members == 1):
			return skipRow(row, SkipHeartbeat), nil
		}
		return change.Row{}, failf("not a Debezium change event: no op")
	}
	var err error
	switch e.op {
	case "c", "u", "r":
		if e.after == nil && e.afterCols.Len() == 0 {
			return change.Row{}, failf("after is not an object (op %q)", e.op)
		}
		row.Op = change.OpUpsert
		row.Fields, row.Cols = e.after, e.afterCols
		row.LogicalTypes = sc.after
		if e.op == "u" {
			row.Before, row.BeforeCols = e.beforeImage, e.beforeCols
		}
	case "d":
		row.Op = change.OpDelete
		if e.before.present() {
			br := reader{s: s, i: e.before.start}
			row.Fields, err = br.object(d.keepFunc(), len(d.keep), sc.deletedLayout, true)
			row.LogicalTypes = sc.before
		}
	case "t":
		return skipRow(row, SkipTruncate), nil
	case "m":
		return skipRow(row, SkipMessage), nil
	default:
		return change.Row{}, failf("unknown op %s", quoteShort(e.op))
	}
	if err != nil {
		return change.Row{}, err
	}
	return row, nil
}

// readSourceTs reads the source block for its ts_ms, skipping the rest
// (most of a Debezium source block comes after ts_ms).
func readSourceTs(r *reader) (string, error) {
	if r.peek() != '{' {
		return "", r.skipFast()
	}
	if err := r.beginObject(); err != nil {
		return "", err
	}
	for first := true; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", nil // no ts_ms
		}
		if k == "ts_ms" {
			ts, err := numberOrSkip(r)
			if err != nil {
				return "", err
			}
			return ts, r.skipRest()
		}
		if err := r.skipFast(); err != nil {
			return "", err
		}
	}
}

// numberOrSkip returns the text of a number value, or skips any other value.
func numberOrSkip(r *reader) (string, error) {
	if c := r.peek(); numberStart(c) {
		return r.number()
	}
	return "", r.skipFast()
}

func skipRow(row change.Row, why string) change.Row {
	row.Op = change.OpSkip
	row.Skip = why
	return row
}
