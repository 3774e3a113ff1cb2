package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/attrsync/attrsync/internal/jsonappend"
	"strconv"
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// kind is an attribute's declared type.
type kind uint8

const (
	kindAuto kind = iota
	kindString
	kindNumber
	kindBoolean
	kindDate
	kindObject
)

var kindNames = map[string]kind{
	"": kindAuto, "auto": kindAuto, "string": kindString, "number": kindNumber,
	"boolean": kindBoolean, "date": kindDate, "object": kindObject,
}

func (k kind) String() string {
	return [...]string{"auto", "string", "number", "boolean", "date", "object"}[k]
}

// attribute is one compiled attributes entry.
type attribute struct {
	name      string // Iterable field
	from      string // the path as configured, for messages
	path      path
	col       int // the index of path[0] in the mapper's SourceFields
	kind      kind
	unit      unit
	skipNulls bool
}

func newAttribute(c Attribute) (attribute, error) {
	a := attribute{name: c.To, from: c.From}
	p, err := parsePath(c.From)
	if err != nil {
		return a, fmt.Errorf("from: %w", err)
	}
	a.path = p
	if c.To == "" {
		return a, errors.New("to: empty")
	}
	k, ok := kindNames[string(c.Type)]
	if !ok {
		return a, fmt.Errorf("type: %q is not auto, string, number, boolean, date or object", c.Type)
	}
	a.kind = k
	u, ok := unitNames[string(c.Unit)]
	if !ok {
		return a, fmt.Errorf("unit: %q is not s, ms, us, ns or days", c.Unit)
	}
	if c.Unit != "" && k != kindDate {
		return a, fmt.Errorf("unit: applies to type date only, not %s", k)
	}
	a.unit = u
	switch c.Nulls {
	case "", NullsSend:
	case NullsSkip:
		a.skipNulls = true
	default:
		return a, fmt.Errorf("nulls: %q is not send or skip", c.Nulls)
	}
	return a, nil
}

// appendValue reads the attribute from the row and appends its canonical
// JSON to buf. ok is false when the attribute is not present (or null and
// skipped).
func (a *attribute) appendValue(buf []byte, row *change.Row, unavailable *placeholder) (_ []byte, ok bool, _ error) {
	x, present, err := a.path.read(row, false, a.col, unavailable)
	if err != nil {
		return buf, false, a.fail(err.Error(), "") // a shape, never a value
	}
	if !present || (x.null() && a.skipNulls) {
		return buf, false, nil
	}
	if x.null() {
		return append(buf, "null"...), true, nil
	}
	start := len(buf)
	out, err := a.convert(buf, x, row.LogicalTypes)
	if err != nil {
		// Drop what a failed conversion may have appended.
		return buf[:start], false, err
	}
	return out, true, nil
}

// logical is the attribute's Debezium logical type among a row's types, ""
// when it has none: only top-level fields carry one.
func (a *attribute) logical(types map[string]string) string {
	if len(a.path) != 1 {
		return ""
	}
	return types[a.path[0]]
}

// convert encodes v as the attribute's type. types are the row's logical
// types; only the conversions that need one look it up, which spares most
// attributes a map lookup per row.
func (a *attribute) convert(buf []byte, x value, types map[string]string) ([]byte, error) {
	if x.text {
		return a.convertText(buf, x.s, x.number, types)
	}
	v := x.v
	switch a.kind {
	case kindString:
		return a.toString(buf, v)
	case kindNumber:
		return a.toNumber(buf, v)
	case kindBoolean:
		return a.toBoolean(buf, v)
	case kindDate:
		return a.toDate(buf, v, a.logical(types))
	case kindObject:
		return a.toObject(buf, v)
	}
	out, err := appendCanonical(buf, v)
	if err != nil {
		return buf, a.fail("not encodable as JSON", err.Error())
	}
	return out, nil
}

// convertText is convert for a string, or a JSON number's text when
// number is set.
func (a *attribute) convertText(buf []byte, s string, number bool, types map[string]string) ([]byte, error) {
	switch a.kind {
	case kindString:
		return a.stringText(buf, s, number)
	case kindNumber:
		return a.numberText(buf, s, number, types)
	case kindBoolean:
		return a.booleanText(buf, s, number)
	case kindDate:
		return a.dateText(buf, s, number, a.logical(types))
	case kindObject:
		return a.objectText(buf, s, number)
	}
	if !number {
		return jsonappend.AppendString(buf, s), nil
	}
	out, err := appendNumber(buf, s, false)
	if err != nil {
		return buf, a.fail("not encodable as JSON", err.Error())
	}
	return out, nil
}

// textValue is s as the value convert would have been given, for failures.
func textValue(s string, number bool) any {
	if number {
		return json.Number(s)
	}
	return s
}

// fail is a convert failure naming the attribute. reason must not hold the
// value (it is logged); detail, which may, goes to Failure.Detail.
func (a *attribute) fail(reason, detail string) error {
	f := change.Fail(change.ClassConvert, "attribute %s (from %s): %s", a.name, a.from, reason)
	f.Detail = detail
	return f
}

// cannot is the usual convert failure: cannot convert <kind> to <type>,
// with a note that holds no value, and the value itself as the detail.
func (a *attribute) cannot(v any, note string) error {
	reason := fmt.Sprintf("cannot convert %s to %s", kindOf(v), a.kind)
	if note != "" {
		reason += ": " + note
	}
	return a.fail(reason, "value "+describe(v))
}

// describe shows a value in a failure detail: scalars as themselves (cut to
// a readable length), containers by kind.
func describe(v any) string {
	const limit = 64
	switch t := v.(type) {
	case string:
		if len(t) > limit {
			return strconv.Quote(t[:limit]) + "…"
		}
		return strconv.Quote(t)
	case json.Number:
		if len(t) > limit {
			return string(t[:limit]) + "…"
		}
		return string(t)
	case bool:
		return strconv.FormatBool(t)
	}
	return kindOf(v)
}

func (a *attribute) stringText(buf []byte, s string, number bool) ([]byte, error) {
	if !number {
		return jsonappend.AppendString(buf, s), nil
	}
	// The canonical number text, so that 1.50 and 1.5 are one string.
	out, err := appendNumber(append(buf, '"'), s, false)
	if err != nil {
		return buf, a.cannot(textValue(s, number), "")
	}
	return append(out, '"'), nil
}

func (a *attribute) toString(buf []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case bool:
		return jsonappend.AppendString(buf, strconv.FormatBool(t)), nil
	case float64, float32, int, int64, int32, uint64, uint32:
		out, err := appendCanonical(append(buf, '"'), v)
		if err != nil {
			return buf, a.cannot(v, "")
		}
		return append(out, '"'), nil
	}
	return buf, a.cannot(v, "")
}

func (a *attribute) numberText(buf []byte, s string, number bool, types map[string]string) ([]byte, error) {
	n := s
	if !number {
		n = strings.TrimSpace(s)
		if !jsonappend.ValidNumber(n) {
			detail := ""
			if a.logical(types) == "org.apache.kafka.connect.data.Decimal" {
				detail = "a Kafka Connect Decimal in bytes; set Debezium's decimal.handling.mode to string or double"
			}
			return buf, a.cannot(s, detail)
		}
	}
	out, err := appendNumber(buf, n, true)
	if err != nil {
		return buf, a.cannot(textValue(s, number), rangeNote(err))
	}
	return out, nil
}

func (a *attribute) toNumber(buf []byte, v any) ([]byte, error) {
	switch v.(type) {
	case float64, float32, int, int64, int32, uint64, uint32:
		out, err := appendCanonical(buf, v)
		if err != nil {
			return buf, a.cannot(v, "")
		}
		return out, nil
	}
	return buf, a.cannot(v, "")
}

func (a *attribute) booleanText(buf []byte, s string, number bool) ([]byte, error) {
	t := s
	if !number {
		t = strings.ToLower(strings.TrimSpace(s))
	}
	b, ok := boolText(t)
	if !ok {
		return buf, a.cannot(textValue(s, number), "")
	}
	return strconv.AppendBool(buf, b), nil
}

func (a *attribute) toBoolean(buf []byte, v any) ([]byte, error) {
	var b, ok bool
	switch t := v.(type) {
	case bool:
		b, ok = t, true
	case int:
		b, ok = t == 1, t == 0 || t == 1
	case int64:
		b, ok = t == 1, t == 0 || t == 1
	case float64:
		b, ok = t == 1, t == 0 || t == 1
	}
	if !ok {
		return buf, a.cannot(v, "")
	}
	return strconv.AppendBool(buf, b), nil
}

func boolText(s string) (value, ok bool) {
	switch s {
	case "true", "1":
		return true, true
	case "false", "0":
		return false, true
	}
	return false, false
}

func (a *attribute) objectText(buf []byte, s string, number bool) ([]byte, error) {
	// Debezium sends json and jsonb columns as strings.
	t := strings.TrimSpace(s)
	if number || (!strings.HasPrefix(t, "{") && !strings.HasPrefix(t, "[")) {
		return buf, a.cannot(textValue(s, number), "")
	}
	parsed, ok := parseJSON(t)
	if !ok {
		return buf, a.cannot(s, "not valid JSON")
	}
	return a.toObject(buf, parsed)
}

func (a *attribute) toObject(buf []byte, v any) ([]byte, error) {
	switch v.(type) {
	case map[string]any, []any:
	default:
		return buf, a.cannot(v, "")
	}
	out, err := appendCanonical(buf, v)
	if err != nil {
		return buf, a.fail("not encodable as JSON", err.Error())
	}
	return out, nil
}
