package cdc

import (
	"strings"
	"sync/atomic"
)

// hints is what a Kafka Connect schema (the "schema" member of the
// JsonConverter wrapper) tells attrsync: the record's schema name, and the
// logical type names of the row fields. The maps are shared by every row
// decoded with the same schema and must not be modified.
type hints struct {
	name string
	// row holds the logical types of the root fields: the row of a flat
	// message. after and before hold those of a Debezium envelope's after
	// and before structs.
	row, after, before map[string]string
	// afterLayout lays out a Debezium envelope's after row, deletedLayout
	// its before row as a delete's row (both as OnlyFields keeps), and
	// beforeLayout the before image of an update (as WithBefore keeps).
	afterLayout, deletedLayout, beforeLayout layout
}

// maxCachedSchemas bounds the schema cache of a decoder. One topic usually
// has one schema at a time; a few more cover a decoder shared by the
// topics of one sync and a schema change while old messages drain.
const maxCachedSchemas = 16

// schemaEntry is one cached schema: its exact text and its hints.
type schemaEntry struct {
	text  string
	hints hints
}

// schemaCache remembers the schemas a decoder has met. Every message of a
// topic repeats the same schema text, typically 3/4 of the message; a
// byte comparison with a known schema replaces reading it. Since a JSON
// object value ends at its closing brace, text that starts with a cached
// schema holds exactly that schema. The cache is copy-on-write, so readers
// never lock; concurrent misses may drop an entry, which costs only a
// later re-read.
type schemaCache struct {
	entries atomic.Pointer[[]*schemaEntry]
}

func (c *schemaCache) lookup(s string) *schemaEntry {
	p := c.entries.Load()
	if p == nil {
		return nil
	}
	for _, e := range *p {
		if strings.HasPrefix(s, e.text) {
			return e
		}
	}
	return nil
}

// lookupBytes is lookup on the raw message; the comparison does not copy.
func (c *schemaCache) lookupBytes(b []byte) *schemaEntry {
	p := c.entries.Load()
	if p == nil {
		return nil
	}
	for _, e := range *p {
		if len(b) >= len(e.text) && string(b[:len(e.text)]) == e.text {
			return e
		}
	}
	return nil
}

func (c *schemaCache) add(e *schemaEntry) {
	var old []*schemaEntry
	if p := c.entries.Load(); p != nil {
		old = *p
	}
	next := make([]*schemaEntry, 0, min(len(old)+1, maxCachedSchemas))
	next = append(next, e)
	next = append(next, old[:min(len(old), maxCachedSchemas-1)]...)
	c.entries.Store(&next)
}

// schema reads the schema value at r, from the cache when it has been seen.
func (d *Decoder) schema(r *reader) (hints, error) {
	if r.peek() != '{' {
		// Only an object is cached: its text cannot be a prefix of a
		// different value, as the text of a number can.
		_, err := readSchema(r)
		return hints{}, err
	}
	if e := d.schemas.lookup(r.s[r.i:]); e != nil {
		r.i += len(e.text)
		return e.hints, nil
	}
	start := r.i
	sc, err := readSchema(r)
	if err != nil {
		return hints{}, err
	}
	h := hints{name: strings.Clone(sc.name)}
	if h.row, _, err = d.rowSchema(r.s, sc.fields); err != nil {
		return hints{}, err
	}
	afterNames, beforeNames := []string(nil), []string(nil)
	if h.after, afterNames, err = d.rowSchema(r.s, sc.after); err != nil {
		return hints{}, err
	}
	if h.before, beforeNames, err = d.rowSchema(r.s, sc.before); err != nil {
		return hints{}, err
	}
	// Both are the table's Value struct.
	if h.before == nil {
		h.before = h.after
	}
	if !sc.before.present() {
		beforeNames = afterNames
	}
	if !d.noLayouts {
		h.afterLayout = newLayout(afterNames, d.keepFunc(), d.indexed(d.only))
		h.deletedLayout = newLayout(beforeNames, d.keepFunc(), nil)
		if d.before != nil {
			h.beforeLayout = newLayout(beforeNames, d.before.keeps, d.indexed(d.beforeOnly))
		}
	}
	// Clone so that the cache does not keep the whole message alive.
	d.schemas.add(&schemaEntry{text: strings.Clone(r.s[start:r.i]), hints: h})
	return h, nil
}

// schemaInfo locates the parts of a schema that hints are made of.
type schemaInfo struct {
	name string
	// fields is the root field list: the row's fields for flat messages.
	fields span
	// after and before are the field lists of the envelope's after and
	// before members (Debezium envelopes only).
	after, before span
}

// readSchema reads a schema value. The schema is only a source of hints, so
// a schema of an unexpected shape is validated and ignored, not an error.
func readSchema(r *reader) (schemaInfo, error) {
	var info schemaInfo
	if r.peek() != '{' {
		return info, r.skip()
	}
	if err := r.beginObject(); err != nil {
		return info, err
	}
	for first := true; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return info, err
		}
		if !ok {
			return info, nil
		}
		switch {
		case k == "name" && r.peek() == '"':
			if info.name, err = r.str(); err != nil {
				return info, err
			}
		case k == "fields" && r.peek() == '[':
			if err := readFieldList(r, &info); err != nil {
				return info, err
			}
		default:
			if err := r.skip(); err != nil {
				return info, err
			}
		}
	}
}

// readFieldList reads the root field list, noting its span and the spans of
// the nested field lists of the members named after and before.
func readFieldList(r *reader, info *schemaInfo) error {
	start := r.i
	if err := r.enter(); err != nil {
		return err
	}
	r.i++ // '['
	if r.peek() == ']' {
		r.i++
		r.depth--
		info.fields = span{start, r.i}
		return nil
	}
	for {
		if r.peek() == '{' {
			field, fields, err := readFieldSchema(r)
			if err != nil {
				return err
			}
			switch field {
			case "after":
				info.after = fields
			case "before":
				info.before = fields
			}
		} else if err := r.skip(); err != nil {
			return err
		}
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			r.depth--
			info.fields = span{start, r.i}
			return nil
		default:
			return r.unexpected()
		}
	}
}

// readFieldSchema reads one field schema object, returning its "field" name
// and the span of its nested "fields" list, if any.
func readFieldSchema(r *reader) (string, span, error) {
	var (
		field  string
		fields span
	)
	if err := r.beginObject(); err != nil {
		return "", span{}, err
	}
	for first := true; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return "", span{}, err
		}
		if !ok {
			return field, fields, nil
		}
		switch {
		case k == "field" && r.peek() == '"':
			field, err = r.str()
		case k == "fields":
			fields, err = r.span()
		default:
			err = r.skip()
		}
		if err != nil {
			return "", span{}, err
		}
	}
}

// rowSchema reads the field list at sp. It returns the schema name of
// every kept field that has one (for example io.debezium.time.Date), or
// nil, and the names of the fields in order ("" for an entry without one).
// Both are clones: they outlive the message in the cache.
func (d *Decoder) rowSchema(s string, sp span) (types map[string]string, names []string, _ error) {
	if !sp.present() {
		return nil, nil, nil
	}
	r := reader{s: s, i: sp.start}
	if r.peek() != '[' {
		return nil, nil, nil
	}
	r.i++
	if r.peek() == ']' {
		return nil, nil, nil
	}
	for {
		field, name := "", ""
		if r.peek() == '{' {
			var err error
			if field, name, err = readFieldName(&r); err != nil {
				return nil, nil, err
			}
			field = strings.Clone(field)
			if name != "" && field != "" && d.keeps(field) {
				if types == nil {
					types = make(map[string]string)
				}
				types[field] = strings.Clone(name)
			}
		} else if err := r.skip(); err != nil {
			return nil, nil, err
		}
		// A field without a name still takes a position.
		names = append(names, field)
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			return types, names, nil
		default:
			return nil, nil, r.unexpected()
		}
	}
}

// readFieldName reads one field schema object for its "field" and "name".
func readFieldName(r *reader) (field, name string, err error) {
	if err := r.beginObject(); err != nil {
		return "", "", err
	}
	for first := true; ; first = false {
		k, ok, err := r.nextKey(first)
		if err != nil {
			return "", "", err
		}
		if !ok {
			return field, name, nil
		}
		switch {
		case k == "field" && r.peek() == '"':
			field, err = r.str()
		case k == "name" && r.peek() == '"':
			name, err = r.str()
		default:
			err = r.skip()
		}
		if err != nil {
			return "", "", err
		}
	}
}

// Schema names Debezium gives its non-row messages.
func isHeartbeatSchema(name string) bool { return strings.HasSuffix(name, ".Heartbeat") }

func isSchemaChangeSchema(name string) bool {
	return strings.HasSuffix(name, ".SchemaChangeValue")
}

func isTransactionSchema(name string) bool {
	return strings.HasSuffix(name, ".TransactionMetadataValue")
}
