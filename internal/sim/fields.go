package sim

import (
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"time"
)

// FieldType is the data type Iterable fixes for a user profile field the
// first time a value for it is received. Arrays are typed by their elements,
// as in Iterable's getFields (emailListIds is "long"), and a nested field of
// an object has its own type under its dotted path ("address.city").
type FieldType string

// The field types the simulator infers. Iterable also knows geo_location and
// nested; attrsync sends neither, so they are not modelled.
const (
	TypeString  FieldType = "string"
	TypeLong    FieldType = "long"
	TypeDouble  FieldType = "double"
	TypeBoolean FieldType = "boolean"
	TypeDate    FieldType = "date"
	TypeObject  FieldType = "object"
)

// IterableDateLayout is the layout Iterable stores and returns dates in, and
// the layout date values are normalised to in simulated profiles.
const IterableDateLayout = "2006-01-02 15:04:05 -07:00"

// parseDate accepts the date inputs Iterable is known to accept (block/
// iterable-go's validator and recorded traffic): its own layout, the same
// without zone, a bare date, and ISO-8601/RFC 3339 with a "T". Fractional
// seconds are only allowed with the "T" separator: "2020-04-13 14:04:09.000"
// was rejected by Iterable for a date field.
func parseDate(s string) (time.Time, bool) {
	type layout struct {
		layout string
		exact  bool // input must have exactly the layout's length (no fraction)
	}
	for _, l := range []layout{
		{IterableDateLayout, true},
		{"2006-01-02 15:04:05", true},
		{"2006-01-02", true},
		{time.RFC3339, false},
		{"2006-01-02T15:04:05", false},
	} {
		if l.exact && len(s) != len(l.layout) {
			continue
		}
		if t, err := time.Parse(l.layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// formatDate renders t the way Iterable stores dates.
func formatDate(t time.Time) string { return t.UTC().Format(IterableDateLayout) }

// incoming describes what a received JSON value could be stored as.
type incoming struct {
	// accepts lists the field types this value is compatible with; the first
	// is the type a new field gets.
	accepts []FieldType
	// reported is what an UnexpectedType error names as "incomingTypes",
	// in Iterable's vocabulary (a string is "string" and "keyword").
	reported []string
}

func (in incoming) inferred() FieldType { return in.accepts[0] }

func (in incoming) compatible(t FieldType) bool {
	for _, a := range in.accepts {
		if a == t {
			return true
		}
	}
	return false
}

// classify types one non-null, non-array JSON value as decoded with
// UseNumber. Numbers without fraction or exponent are longs, which double
// fields accept too; anything else numeric is a double, which long fields
// reject. A string is a date only if it parses as one; any string fits a
// string field. Numbers are not accepted by string or date fields: Iterable
// requires types to match, and a sync that sends 42 where it used to send
// "42" has a bug worth seeing.
func classify(v any) incoming {
	switch x := v.(type) {
	case string:
		if _, ok := parseDate(x); ok {
			return incoming{[]FieldType{TypeDate, TypeString}, []string{"date", "string", "keyword"}}
		}
		return incoming{[]FieldType{TypeString}, []string{"string", "keyword"}}
	case json.Number:
		if isLong(x) {
			return incoming{[]FieldType{TypeLong, TypeDouble}, []string{"long"}}
		}
		return incoming{[]FieldType{TypeDouble}, []string{"double"}}
	case bool:
		return incoming{[]FieldType{TypeBoolean}, []string{"boolean"}}
	case map[string]any:
		return incoming{[]FieldType{TypeObject}, []string{"object"}}
	default:
		// Values come from a JSON decoder with UseNumber, so this is
		// unreachable; typing it as a string keeps the simulator total.
		return incoming{[]FieldType{TypeString}, []string{"string", "keyword"}}
	}
}

func isLong(n json.Number) bool {
	if strings.ContainsAny(string(n), ".eE") {
		return false
	}
	_, err := strconv.ParseInt(string(n), 10, 64)
	return err == nil
}

// typeMismatch is one entry of params.validationErrors in a
// RequestFieldsTypesMismatched answer.
type typeMismatch struct {
	IncomingTypes  []string `json:"incomingTypes"`
	ExpectedType   string   `json:"expectedType"`
	Type           string   `json:"_type"`
	OffendingValue any      `json:"offendingValue"`
	Category       string   `json:"category"`
}

// typeCheck validates every dataFields value of one request against the
// project schema before anything is applied, because Iterable rejects the
// whole request on a type conflict. Fields new to the project are typed by
// their first value in request order, and later values in the same request are
// held to that type.
type typeCheck struct {
	schema     map[string]FieldType // the project's fields; not modified
	pending    map[string]FieldType // fields this request would create
	createNew  bool
	filtered   map[string]bool // unknown paths dropped because createNew is false
	mismatches map[string]typeMismatch
}

func newTypeCheck(schema map[string]FieldType, createNew bool) *typeCheck {
	return &typeCheck{
		schema:     schema,
		pending:    map[string]FieldType{},
		createNew:  createNew,
		filtered:   map[string]bool{},
		mismatches: map[string]typeMismatch{},
	}
}

func (tc *typeCheck) typeOf(path string) (FieldType, bool) {
	if t, ok := tc.schema[path]; ok {
		return t, true
	}
	t, ok := tc.pending[path]
	return t, ok
}

// fields checks one user's dataFields. Top-level email and userId are
// identifiers, not typed data.
func (tc *typeCheck) fields(data map[string]any) {
	for k, v := range data {
		if isIdentityKey(k) {
			continue
		}
		tc.value(k, v)
	}
}

func (tc *typeCheck) value(path string, v any) {
	switch x := v.(type) {
	case nil:
		return // null removes a value; it carries no type
	case []any:
		for _, e := range x {
			tc.value(path, e)
		}
		return
	}
	in := classify(v)
	want, known := tc.typeOf(path)
	switch {
	case !known && !tc.createNew:
		tc.filtered[path] = true
		return
	case !known:
		tc.pending[path] = in.inferred()
	case !in.compatible(want):
		if _, seen := tc.mismatches[path]; !seen {
			tc.mismatches[path] = typeMismatch{
				IncomingTypes:  in.reported,
				ExpectedType:   string(want),
				Type:           "UnexpectedType",
				OffendingValue: v,
				Category:       "user",
			}
		}
		return
	}
	if obj, ok := v.(map[string]any); ok {
		for k, sub := range obj {
			tc.value(path+"."+k, sub)
		}
	}
}

// converter turns checked request values into stored profile values: filtered
// paths are dropped, numbers become int64 (long) or float64 (double) and date
// fields are normalised to IterableDateLayout. It records which new fields
// were actually written, so that only those are reported as created.
type converter struct {
	tc   *typeCheck
	used map[string]bool
}

// value converts v found at path. Nulls inside objects are kept so that a
// merge can delete those keys; stripNulls removes them before storing. ok is
// false when the path is dropped.
func (c *converter) value(path string, v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	if c.tc.filtered[path] {
		return nil, false
	}
	if arr, isArr := v.([]any); isArr {
		out := make([]any, 0, len(arr))
		for _, e := range arr {
			if ce, ok := c.value(path, e); ok {
				out = append(out, ce)
			}
		}
		return out, true
	}
	t, _ := c.tc.typeOf(path)
	c.used[path] = true
	switch x := v.(type) {
	case json.Number:
		if t == TypeLong {
			if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
				return n, true
			}
		}
		f, err := x.Float64()
		if err != nil {
			return x.String(), true // out of float64 range; keep the literal
		}
		return f, true
	case string:
		if t == TypeDate {
			if d, ok := parseDate(x); ok {
				return formatDate(d), true
			}
		}
		return x, true
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			if cv, ok := c.value(path+"."+k, sub); ok {
				out[k] = cv
			}
		}
		return out, true
	default:
		return v, true
	}
}

// stripNulls removes null members of objects (recursively): a null stores
// nothing.
func stripNulls(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			if sub != nil {
				out[k] = stripNulls(sub)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stripNulls(e)
		}
		return out
	default:
		return v
	}
}

// deepCopy copies the JSON-like values the store holds, so callers of the
// accessors can never alias simulator state.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, sub := range x {
			out[k] = deepCopy(sub)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	default:
		return v
	}
}

func copyFields(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return deepCopy(m).(map[string]any)
}

func copySchema(m map[string]FieldType) map[string]FieldType { return maps.Clone(m) }
