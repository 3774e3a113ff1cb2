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

// read walks the path through a row's fields, or through its before image
// when before is set. col is the index of the path's top-level field in the
// order the decoder was given (SourceFields, or for the before image the
// identifier's field alone), where a row decoded by index holds it.
// present is false when a field on the path is missing or holds the
// source's placeholder for a value it could not read (an unchanged TOASTed
// column: a parent that is one hides its children too); a null on the path
// reads as a present null.
func (p path) read(row *change.Row, before bool, col int, unavailable *placeholder) (v any, present bool, err error) {
	if before {
		v, present = row.BeforeField(col, p[0])
	} else {
		v, present = row.Field(col, p[0])
	}
	for i := 0; ; i++ {
		if !present || unavailable.is(v) {
			return nil, false, nil
		}
		if i == len(p)-1 {
			return v, true, nil
		}
		var cur map[string]any
		switch next := v.(type) {
		case map[string]any:
			cur = next
		case nil:
			return nil, true, nil
		case string:
			obj, ok := jsonObject(next)
			if !ok {
				return nil, false, &shapeError{at: strings.Join(p[:i+1], "."), what: "a string"}
			}
			cur = obj
		default:
			return nil, false, &shapeError{at: strings.Join(p[:i+1], "."), what: kindOf(v)}
		}
		v, present = cur[p[i+1]]
	}
}

// text reads a one-field path as read does when the field holds a string
// or a number, without boxing it: s is its text, number says which. ok is
// false for a longer path or any other value; read then answers.
func (p path) text(row *change.Row, before bool, col int) (s string, number, ok bool) {
	if len(p) != 1 {
		return "", false, false
	}
	if before {
		return row.BeforeFieldText(col, p[0])
	}
	return row.FieldText(col, p[0])
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
