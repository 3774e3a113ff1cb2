package cdc

import (
	"slices"
	"strings"
)

// layout is the fields of a row struct in the order its schema lists them,
// which is the order the JsonConverter writes a row's members in, each with
// whether the decoder builds it. When the member at position n of a row
// carries the name the layout expects there, reader.object takes the name
// and the keep decision from the layout: it neither scans the name as a
// string nor looks it up in the keep set, the two largest costs of a member
// after its value. Any other member is read as if there were no layout, so
// the rows are the same either way; the layout only makes them cheaper.
type layout []layoutField

// layoutField is one field of a layout.
type layoutField struct {
	name string
	// quoted is the name as a JSON string, `"name"`, empty when the name
	// holds a byte JSON would escape: such a member is read the usual way.
	quoted string
	kept   bool
	// col is the field's index in the order of a row decoded by index
	// (ByIndex), -1 when it has none.
	col int
}

// newLayout lays out the field names, kept as keep says (nil keeps all),
// with their indexes in order, the fields of rows decoded by index (nil
// when there are none). The names must outlive the message: they become
// the rows' map keys.
func newLayout(names []string, keep func(string) bool, order []string) layout {
	if len(names) == 0 {
		return nil
	}
	l := make(layout, len(names))
	for i, n := range names {
		l[i] = layoutField{name: n, kept: keep == nil || keep(n), col: slices.Index(order, n)}
		if plainName(n) {
			l[i].quoted = `"` + n + `"`
		}
	}
	return l
}

// plainName reports whether a name is written in JSON as its own bytes
// between quotes: it holds no quote, backslash or control character. (It
// is valid UTF-8, as every string the reader returns.)
func plainName(n string) bool {
	for i := 0; i < len(n); i++ {
		if c := n[i]; c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// knownKey consumes the next member name of the object being read and the
// colon after it, when it is f's name written plainly; otherwise it
// consumes nothing and returns false. first is as for nextKey. A match
// means nextKey would have returned f.name at the same place.
func (r *reader) knownKey(first bool, f *layoutField) bool {
	if f.quoted == "" {
		return false
	}
	start := r.i
	c := r.peek()
	if !first {
		if c != ',' {
			return false
		}
		r.i++
		r.ws()
	}
	if !strings.HasPrefix(r.s[r.i:], f.quoted) {
		r.i = start
		return false
	}
	r.i += len(f.quoted)
	if r.peek() != ':' {
		r.i = start
		return false
	}
	r.i++
	return true
}
