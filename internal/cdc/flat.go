package cdc

import (
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// flatMeta is what the pass over a flat row learns besides the row itself:
// the ExtractNewRecordState metadata (__op, __deleted, __source_ts_ms,
// __ts_ms) and the member names that betray a Debezium message that is not
// a row (the SMT passes heartbeats and schema changes through unchanged).
type flatMeta struct {
	members      int
	op           string
	deleted      bool
	sourceTs     string
	tsMs         string
	hasTsMs      bool
	ddl          bool
	ddlContext   bool // tableChanges, historyRecord or databaseName
	status       string
	hasID        bool
	hasEventCnt  bool
	hasOtherMeta bool
}

// flat decodes an ExtractNewRecordState row, bare or wrapped.
func (d *Decoder) flat(r *reader) (change.Row, error) {
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
	sc, payload, wrapped, err := d.flatWrapper(r, hints{}, false)
	if err != nil {
		return change.Row{}, err
	}
	return d.flatRest(r, sc, payload, wrapped)
}

// flatRest reads the row of a flat message, once flatWrapper has told
// whether it is wrapped, and makes the row.
func (d *Decoder) flatRest(r *reader, sc hints, payload span, wrapped bool) (change.Row, error) {
	if wrapped {
		r.i = payload.start
		switch r.peek() {
		case '{':
		case 'n':
			return tombstone(), nil
		default:
			return change.Row{}, failf("payload is not an object")
		}
	}
	fields, meta, err := d.flatRow(r)
	if err != nil {
		return change.Row{}, err
	}
	if !wrapped {
		if err := r.end(); err != nil {
			return change.Row{}, err
		}
	}
	row := change.Row{SourceTime: millis(meta.sourceTs)}
	if row.SourceTime.IsZero() {
		row.SourceTime = millis(meta.tsMs)
	}
	switch {
	case isHeartbeatSchema(sc.name) || (meta.members == 1 && meta.hasTsMs && !meta.hasOtherMeta):
		return skipRow(row, SkipHeartbeat), nil
	case isSchemaChangeSchema(sc.name) || (meta.ddl && meta.ddlContext):
		return skipRow(row, SkipSchemaChange), nil
	case isTransactionSchema(sc.name) ||
		(meta.hasID && meta.hasEventCnt && (meta.status == "BEGIN" || meta.status == "END")):
		return skipRow(row, SkipTransaction), nil
	}
	row.Fields = fields
	row.LogicalTypes = sc.row
	switch {
	case meta.deleted:
		row.Op = change.OpDelete
		return row, nil
	}
	switch meta.op {
	case "", "c", "u", "r":
		row.Op = change.OpUpsert
	case "d":
		row.Op = change.OpDelete
	case "t":
		return skipRow(change.Row{SourceTime: row.SourceTime}, SkipTruncate), nil
	case "m":
		return skipRow(change.Row{SourceTime: row.SourceTime}, SkipMessage), nil
	default:
		return change.Row{}, failf("unknown __op %s", quoteShort(meta.op))
	}
	return row, nil
}

// flatWrapper tells whether the object whose '{' r has just read is
// exactly the JsonConverter wrapper {"schema":…,"payload":…}; a row that
// merely has such columns among others is not. For a wrapper it returns the
// schema hints and the payload's span, having validated the whole message.
// Otherwise r is left at the start of the object, to be read as a row.
// seenSchema says that the schema member, sc, has been read already.
func (d *Decoder) flatWrapper(r *reader, sc hints, seenSchema bool) (_ hints, payload span, wrapped bool, err error) {
	start, depth := r.i-1, r.depth-1
	notWrapper := func() (hints, span, bool, error) {
		r.i, r.depth = start, depth
		return hints{}, span{}, false, nil
	}
	n0 := 0
	if seenSchema {
		n0 = 1
	}
	for n := n0; ; n++ {
		k, ok, err := r.nextKey(n == 0)
		if err != nil {
			return hints{}, span{}, false, err
		}
		if !ok {
			if n != 2 || !seenSchema || !payload.present() {
				return notWrapper()
			}
			if err := r.end(); err != nil {
				return hints{}, span{}, false, err
			}
			return sc, payload, true, nil
		}
		switch {
		case n < 2 && k == "schema" && !seenSchema:
			seenSchema = true
			if sc, err = d.schema(r); err != nil {
				return hints{}, span{}, false, err
			}
		case n < 2 && k == "payload" && !payload.present():
			// Read in full later, as the row.
			if payload, err = r.spanFast(); err != nil {
				return hints{}, span{}, false, err
			}
		default:
			return notWrapper()
		}
	}
}

// flatRow reads a flat row, moving __ metadata out of the fields.
func (d *Decoder) flatRow(r *reader) (map[string]any, flatMeta, error) {
	var meta flatMeta
	if err := r.beginObject(); err != nil {
		return nil, meta, err
	}
	fields := make(map[string]any)
	for first := true; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return nil, meta, err
		}
		if !ok {
			return fields, meta, nil
		}
		if strings.HasPrefix(k, "__") {
			err = readFlatMeta(r, k, &meta)
		} else {
			err = d.flatMember(r, k, fields, &meta)
		}
		if err != nil {
			return nil, meta, err
		}
	}
}

func (d *Decoder) flatMember(r *reader, k string, fields map[string]any, meta *flatMeta) error {
	meta.members++
	switch k {
	case "ts_ms":
		meta.hasTsMs = true
	case "ddl":
		meta.ddl = true
	case "tableChanges", "historyRecord", "databaseName":
		meta.ddlContext = true
	case "id":
		meta.hasID = true
	case "event_count":
		meta.hasEventCnt = true
	}
	if !d.keeps(k) {
		if k == "status" && r.peek() == '"' {
			var err error
			meta.status, err = r.str()
			return err
		}
		return r.skipFast()
	}
	v, err := r.value()
	if err != nil {
		return err
	}
	if s, ok := v.(string); ok && k == "status" {
		meta.status = s
	}
	fields[k] = v
	return nil
}

// readFlatMeta reads one __ metadata member; unknown ones are dropped.
func readFlatMeta(r *reader, k string, meta *flatMeta) error {
	meta.hasOtherMeta = true
	switch k {
	case "__op":
		if r.peek() == '"' {
			var err error
			meta.op, err = r.str()
			return err
		}
	case "__deleted":
		switch r.peek() {
		case '"':
			v, err := r.str()
			meta.deleted = strings.EqualFold(v, "true")
			return err
		case 't':
			meta.deleted = true
			return r.literal("true")
		}
	case "__source_ts_ms":
		var err error
		meta.sourceTs, err = numberOrSkip(r)
		return err
	case "__ts_ms":
		var err error
		meta.tsMs, err = numberOrSkip(r)
		return err
	}
	return r.skip()
}

// plain decodes a "json" message: the value is the row.
func (d *Decoder) plain(r *reader) (change.Row, error) {
	switch r.peek() {
	case '{':
	case 'n':
		return nullValue(r)
	default:
		return change.Row{}, notObject(r)
	}
	fields, err := r.object(d.keepFunc(), len(d.keep), nil, false)
	if err != nil {
		return change.Row{}, err
	}
	if err := r.end(); err != nil {
		return change.Row{}, err
	}
	return change.Row{Op: change.OpUpsert, Fields: fields}, nil
}
