package change

// Columns holds a row's top-level fields by position instead of in a map.
// Building and reading a map of a dozen fields costs several times the
// decoding of their values, so the JSON decoder, told the fields a mapping
// reads (cdc.ByIndex), puts them in a slice in that order and the mapper
// reads them by their index. The zero Columns holds nothing: the row is then
// in its maps.
type Columns struct {
	// names is the decoder's field order, shared by all its rows: read only.
	names []string
	vals  []any
}

// null is a JSON null in Columns, where a nil value means absent.
type null struct{}

// NewColumns returns empty Columns for the named fields, which it does not
// copy: they must not change while a row holds them.
func NewColumns(names []string) Columns {
	return Columns{names: names, vals: make([]any, len(names))}
}

// Set makes v (nil for JSON null) the value of field i.
func (c Columns) Set(i int, v any) {
	if v == nil {
		v = null{}
	}
	c.vals[i] = v
}

// Len is how many fields the Columns have room for; 0 for the zero Columns.
func (c Columns) Len() int { return len(c.names) }

// At returns the value of field i when it is named name, and whether it is
// present. The name check makes a wrong index read as absent rather than
// as another field; it costs one pointer comparison when the caller holds
// the very strings the decoder was given.
func (c Columns) At(i int, name string) (v any, present, ok bool) {
	if i < 0 || i >= len(c.names) || c.names[i] != name {
		return nil, false, false
	}
	v = c.vals[i]
	if _, isNull := v.(null); isNull {
		return nil, true, true
	}
	return v, v != nil, true
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
