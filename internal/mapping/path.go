package mapping

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// path is a field path split at its dots: "plan.tier" is {"plan", "tier"}.
type path []string

func parsePath(s string) (path, error) {
	if s == "" {
		return nil, fmt.Errorf("empty")
	}
	p := strings.Split(s, ".")
	for _, seg := range p {
		if seg == "" {
			return nil, fmt.Errorf("%q has an empty segment", s)
		}
	}
	return p, nil
}

// shapeError says that a path crossed a value that is not an object.
type shapeError struct {
	at   string // the path up to the offending value
	what string
}

func (e *shapeError) Error() string { return e.at + " is " + e.what + ", not an object" }

// value is what a path reads: a string, or a number's text, kept as text
// (rows decoded by index hold them unboxed: see change.Columns), or any
// other decoded value in v, where a nil v that is not text is JSON null.
type value struct {
	s      string
	number bool // s is a number's text, not a string
	text   bool
	v      any
}

// valueOf is v as a path reads it.
func valueOf(v any) value {
	if s, number, ok := change.TextOf(v); ok {
		return value{s: s, number: number, text: true}
	}
	return value{v: v}
}

// null reports whether x is JSON null.
func (x value) null() bool { return !x.text && x.v == nil }

// read walks the path through a row's fields, or through its before image
// when before is set. col is the index of the path's top-level field in the
// order the decoder was given (SourceFields, or for the before image the
// identifier's field alone), where a row decoded by index holds it.
// present is false when a field on the path is missing or holds the
// source's placeholder for a value it could not read (an unchanged TOASTed
// column: a parent that is one hides its children too); a null on the path
// reads as a present null. A top-level string or number is read without
// boxing it, which is most of what a mapping reads.
func (p path) read(row *change.Row, before bool, col int, unavailable *placeholder) (value, bool, error) {
	if len(p) == 1 {
		var s string
		var number, ok bool
		if before {
			s, number, ok = row.BeforeFieldText(col, p[0])
		} else {
			s, number, ok = row.FieldText(col, p[0])
		}
		if ok {
			if !number && unavailable.isText(s) {
				return value{}, false, nil
			}
			return value{s: s, number: number, text: true}, true, nil
		}
	}
	var v any
	var present bool
	if before {
		v, present = row.BeforeField(col, p[0])
	} else {
		v, present = row.Field(col, p[0])
	}
	for i := 0; ; i++ {
		if !present || unavailable.is(v) {
			return value{}, false, nil
		}
		if i == len(p)-1 {
			return valueOf(v), true, nil
		}
		var cur map[string]any
		switch next := v.(type) {
		case map[string]any:
			cur = next
		case nil:
			return value{}, true, nil
		case string:
			obj, ok := jsonObject(next)
			if !ok {
				return value{}, false, &shapeError{at: strings.Join(p[:i+1], "."), what: "a string"}
			}
			cur = obj
		default:
			return value{}, false, &shapeError{at: strings.Join(p[:i+1], "."), what: kindOf(v)}
		}
		v, present = cur[p[i+1]]
	}
}

// jsonObject parses s when it holds a JSON object, as Debezium sends json
// and jsonb columns. This is off the hot path: only paths into such columns
// use it, and encoding/json keeps its semantics standard.
func jsonObject(s string) (map[string]any, bool) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "{") {
		return nil, false
	}
	v, ok := parseJSON(t)
	m, isObj := v.(map[string]any)
	return m, ok && isObj
}

// parseJSON decodes one JSON value with numbers kept as json.Number.
func parseJSON(s string) (any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if _, err := dec.Token(); err == nil {
		return nil, false // trailing data
	}
	return v, true
}

// kindOf names a JSON value's kind for messages, never its content.
func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case json.Number, float64, float32, int, int64, int32, uint64, uint32:
		return "a number"
	}
	return fmt.Sprintf("a %T", v)
}
