package change

import "encoding/json"

// Columns holds a row's top-level fields by position instead of in a map.
// Building and reading a map of a dozen fields costs several times the
// decoding of their values, so the JSON decoder, told the fields a mapping
// reads (cdc.ByIndex), puts them in a slice in that order and the mapper
// reads them by their index. Strings and numbers are kept as their text
// (SetText, Row.FieldText) rather than boxed in an interface: a box is an allocation,
// and most of a row's values are strings and numbers. The zero Columns holds
// nothing: the row is then in its maps.
type Columns struct {
	// names is the decoder's field order, shared by all its rows: read only.
	names []string
	cells []cell
}

// cell is one field: s holds a string or a number's text, v any other
// value.
type cell struct {
	s    string
	v    any
	kind cellKind
}

// cellKind says what a cell holds.
type cellKind uint8

const (
	absent cellKind = iota
	null            // JSON null
	str             // a string, in s
	num             // a number's text, in s
	other           // any other value, in v
)

// text returns the cell's string or number as text; ok is false for any
// other kind.
func (cl *cell) text() (s string, number, ok bool) {
	switch cl.kind {
	case str:
		return cl.s, false, true
	case num:
		return cl.s, true, true
	case other:
		return TextOf(cl.v)
	}
	return "", false, false
}

// NewColumns returns empty Columns for the named fields, which it does not
// copy: they must not change while a row holds them.
func NewColumns(names []string) Columns {
	return Columns{names: names, cells: make([]cell, len(names))}
}

// Set makes v (nil for JSON null) the value of field i.
func (c Columns) Set(i int, v any) {
	if v == nil {
		c.cells[i] = cell{kind: null}
		return
	}
	c.cells[i] = cell{v: v, kind: other}
}

// SetText makes s the value of field i: a string, or when number is set
// the text of a JSON number, which At returns as a json.Number.
func (c Columns) SetText(i int, s string, number bool) {
	kind := str
	if number {
		kind = num
	}
	c.cells[i] = cell{s: s, kind: kind}
}

// Filled reports whether field i holds a value (JSON null included).
func (c Columns) Filled(i int) bool { return c.cells[i].kind != absent }

// Len is how many fields the Columns have room for; 0 for the zero Columns.
func (c Columns) Len() int { return len(c.names) }

// named reports whether field i exists and is called name. The check makes
// a wrong index read as absent rather than as another field; it costs one
// pointer comparison when the caller holds the very strings the decoder
// was given.
func (c Columns) named(i int, name string) bool {
	return i >= 0 && i < len(c.names) && c.names[i] == name
}

// At returns the value of field i when it is named name, and whether it is
// present; ok is false when field i is not named name. A string or number
// set with SetText is boxed here, so the hot path reads them with
// Row.FieldText.
func (c Columns) At(i int, name string) (v any, present, ok bool) {
	if !c.named(i, name) {
		return nil, false, false
	}
	switch cl := &c.cells[i]; cl.kind {
	case absent:
		return nil, false, true
	case null:
		return nil, true, true
	case str:
		return cl.s, true, true
	case num:
		return json.Number(cl.s), true, true
	default:
		return cl.v, true, true
	}
}

// TextOf returns v as text when it is a string or a json.Number, the two
// kinds FieldText reads.
func TextOf(v any) (s string, number, ok bool) {
	switch t := v.(type) {
	case string:
		return t, false, true
	case json.Number:
		return string(t), true, true
	}
	return "", false, false
}

// Index returns the index of the field called name, -1 if there is none.
func (c Columns) Index(name string) int {
	for i, n := range c.names {
		if n == name {
			return i
		}
	}
	return -1
}

// Lookup returns the value of the field called name, and whether it is
// present.
func (c Columns) Lookup(name string) (any, bool) {
	v, present, _ := c.At(c.Index(name), name)
	return v, present
}

// Map returns the present fields as a map, as the row would hold them
// without Columns: for tests and for code off the hot path.
func (c Columns) Map() map[string]any {
	m := make(map[string]any, len(c.names))
	for i, n := range c.names {
		if v, present, _ := c.At(i, n); present {
			m[n] = v
		}
	}
	return m
}
