package mapping

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
)

type convertCase struct {
	typ     Type
	unit    Unit
	logical string
	value   any
	want    string // the attribute's JSON
	fail    string // part of the convert failure reason
}

// runConvert maps {"v": value} through one attribute "out" (from v).
func runConvert(t *testing.T, tests []convertCase) {
	t.Helper()
	for _, tt := range tests {
		name := string(tt.typ) + string(tt.unit) + "/" + tt.logical + "/" + describe(tt.value)
		t.Run(name, func(t *testing.T) {
			m := mustMapper(t, emailID(), "", Attribute{From: "v", To: "out", Type: tt.typ, Unit: tt.unit})
			row := change.Row{Op: change.OpUpsert, Fields: map[string]any{"email": "a@b.co", "v": tt.value}}
			if tt.logical != "" {
				row.LogicalTypes = map[string]string{"v": tt.logical}
			}
			uc, err := m.Map(row, change.Position{})
			if f := checkConvert(t, err, tt.fail); f != nil {
				// The reason is logged at warn: it may name the attribute
				// and the value's kind, never the value.
				if v := valueText(tt.value); v != "" && strings.Contains(f.Error(), v) {
					t.Errorf("failure %q shows the value %s", f.Error(), v)
				}
				return
			}
			if len(uc.Attrs) != 1 || string(uc.Attrs[0].JSON) != tt.want {
				t.Fatalf("got %s, want out=%s", attrsOf(uc), tt.want)
			}
			if !json.Valid(uc.Attrs[0].JSON) {
				t.Fatalf("invalid JSON %s", uc.Attrs[0].JSON)
			}
		})
	}
}

// valueText is how a scalar value would show in a message, "" for values
// too short or too common to tell apart from the words around them.
func valueText(v any) string {
	var s string
	switch t := v.(type) {
	case string:
		s = t
	case json.Number:
		s = string(t)
	}
	if len(s) < 3 {
		return ""
	}
	return s
}

func TestConvertAuto(t *testing.T) {
	runConvert(t, []convertCase{
		{value: "Ada", want: `"Ada"`},
		{value: "<a & \"b\">\n\t\x01\u2028é", want: `"<a & \"b\">\n\t\u0001\u2028é"`},
		{value: "bad\xffutf8", want: `"bad\ufffdutf8"`},
		{value: true, want: `true`},
		{value: json.Number("42"), want: `42`},
		{value: json.Number("-0"), want: `0`},
		{value: json.Number("1.50"), want: `1.5`},
		{value: json.Number("1.0"), want: `1.0`},
		{value: json.Number("1e2"), want: `100.0`},
		{value: json.Number("1E+2"), want: `100.0`},
		{value: json.Number("-0.0"), want: `0.0`},
		{value: json.Number("1e21"), want: `1e+21`},
		{value: json.Number("0.0000001"), want: `1e-7`},
		{value: json.Number("123456789012345678901234567890"), want: `123456789012345678901234567890`},
		{value: json.Number("1e400"), want: `1e400`},
		{value: 1.5, want: `1.5`},
		{value: 7, want: `7`},
		{value: map[string]any{"b": json.Number("1"), "a": []any{"x", nil, false}, "c": map[string]any{"z": 1, "y": "2"}},
			want: `{"a":["x",null,false],"b":1,"c":{"y":"2","z":1}}`},
		{value: []any{}, want: `[]`},
		{value: json.Number("12abc"), fail: `"12abc" is not a number`},
		{value: struct{}{}, fail: "unsupported value of Go type struct {}"},
	})
}

func TestConvertString(t *testing.T) {
	runConvert(t, []convertCase{
		{typ: "string", value: "x", want: `"x"`},
		{typ: "string", value: json.Number("42"), want: `"42"`},
		{typ: "string", value: json.Number("4.20"), want: `"4.2"`},
		{typ: "string", value: false, want: `"false"`},
		{typ: "string", value: 3.25, want: `"3.25"`},
		{typ: "string", value: map[string]any{}, fail: "attribute out (from v): cannot convert an object to string"},
		{typ: "string", value: []any{}, fail: "cannot convert an array to string"},
	})
}

func TestConvertNumber(t *testing.T) {
	runConvert(t, []convertCase{
		{typ: "number", value: json.Number("42"), want: `42`},
		{typ: "number", value: json.Number("9223372036854775807"), want: `9223372036854775807`},
		{typ: "number", value: json.Number("-9223372036854775808"), want: `-9223372036854775808`},
		{typ: "number", value: json.Number("9223372036854775808"),
			fail: "cannot convert a number to number: out of range of Iterable's long (int64); value 9223372036854775808"},
		{typ: "number", value: json.Number("2.5e1"), want: `25.0`},
		{typ: "number", value: json.Number("1e400"), fail: "out of range of a double"},
		{typ: "number", value: " 12.340 ", want: `12.34`},
		{typ: "number", value: "-7", want: `-7`},
		{typ: "number", value: "12abc", fail: `cannot convert a string to number; value "12abc"`},
		{typ: "number", value: "", fail: `cannot convert a string to number; value ""`},
		{typ: "number", value: "0x10", fail: `cannot convert a string to number; value "0x10"`},
		{typ: "number", value: "AeI=", logical: "org.apache.kafka.connect.data.Decimal", fail: "decimal.handling.mode"},
		{typ: "number", value: true, fail: "cannot convert a boolean to number; value true"},
		{typ: "number", value: map[string]any{}, fail: "cannot convert an object to number"},
		{typ: "number", value: 2.0, want: `2.0`},
	})
}

func TestConvertBoolean(t *testing.T) {
	runConvert(t, []convertCase{
		{typ: "boolean", value: true, want: `true`},
		{typ: "boolean", value: false, want: `false`},
		{typ: "boolean", value: "true", want: `true`},
		{typ: "boolean", value: " FALSE ", want: `false`},
		{typ: "boolean", value: "1", want: `true`},
		{typ: "boolean", value: json.Number("0"), want: `false`},
		{typ: "boolean", value: json.Number("1"), want: `true`},
		{typ: "boolean", value: json.Number("2"), fail: "cannot convert a number to boolean; value 2"},
		{typ: "boolean", value: "yes", fail: `cannot convert a string to boolean; value "yes"`},
		{typ: "boolean", value: []any{}, fail: "cannot convert an array to boolean"},
	})
}

func TestConvertObject(t *testing.T) {
	runConvert(t, []convertCase{
		{typ: "object", value: map[string]any{"b": "x", "a": json.Number("1.0")}, want: `{"a":1.0,"b":"x"}`},
		{typ: "object", value: []any{json.Number("1"), "a"}, want: `[1,"a"]`},
		{typ: "object", value: `{"tier": "pro", "seats": 5}`, logical: "io.debezium.data.Json", want: `{"seats":5,"tier":"pro"}`},
		{typ: "object", value: ` ["a"] `, want: `["a"]`},
		{typ: "object", value: `{"tier": `, fail: "not valid JSON"},
		{typ: "object", value: "pro", fail: `cannot convert a string to object; value "pro"`},
		{typ: "object", value: json.Number("1"), fail: "cannot convert a number to object; value 1"},
	})
}

func TestConvertDate(t *testing.T) {
	const ada = `"2024-06-20 12:34:56 +00:00"`
	runConvert(t, []convertCase{
		// ISO-8601 strings.
		{typ: "date", value: "2024-06-20T12:34:56Z", want: ada},
		{typ: "date", value: "2024-06-20T12:34:56.999999Z", want: ada},
		{typ: "date", value: "2024-06-20T14:34:56+02:00", want: ada},
		{typ: "date", value: "2024-06-20T07:34:56.5-05:00", want: ada},
		{typ: "date", value: "2024-06-20T12:34:56", want: ada},
		{typ: "date", value: "2024-06-20 12:34:56", want: ada},
		{typ: "date", value: "2024-06-20 12:34:56.123", want: ada},
		{typ: "date", value: "2024-06-20 12:34:56 +00:00", want: ada},
		{typ: "date", value: "2024-06-20 14:34:56+02", want: ada},
		{typ: "date", value: "2024-06-20 14:34:56+0200", want: ada},
		{typ: "date", value: "2024-06-20t12:34:56z", want: ada},
		{typ: "date", value: "2024-06-20 12:34", want: `"2024-06-20 12:34:00 +00:00"`},
		{typ: "date", value: "2024-06-20", want: `"2024-06-20 00:00:00 +00:00"`},
		{typ: "date", value: "2024-06-20Z", want: `"2024-06-20 00:00:00 +00:00"`},
		{typ: "date", value: "2024-02-30", fail: `cannot convert a string to date; value "2024-02-30"`},
		{typ: "date", value: "2024-06-20T25:00:00Z", fail: "to date"},
		{typ: "date", value: "2024-06-20T12:34:56+2", fail: "to date"},
		{typ: "date", value: "20/06/2024", fail: "to date"},
		{typ: "date", value: "abc", fail: `attribute out (from v): cannot convert a string to date; value "abc"`},
		// Numbers in the attribute's unit.
		{typ: "date", value: json.Number("1718886896000"), want: ada},
		{typ: "date", unit: "ms", value: json.Number("1718886896999"), want: ada},
		{typ: "date", unit: "s", value: json.Number("1718886896"), want: ada},
		{typ: "date", unit: "s", value: json.Number("1718886896.75"), want: ada},
		{typ: "date", unit: "us", value: json.Number("1718886896123456"), want: ada},
		{typ: "date", unit: "ns", value: json.Number("1718886896123456789"), want: ada},
		{typ: "date", unit: "days", value: json.Number("19894"), want: `"2024-06-20 00:00:00 +00:00"`},
		{typ: "date", unit: "s", value: "1718886896", want: ada},
		{typ: "date", unit: "ms", value: json.Number("-1"), want: `"1969-12-31 23:59:59 +00:00"`},
		{typ: "date", unit: "s", value: json.Number("1e12"), fail: "outside the years 0000 to 9999"},
		{typ: "date", unit: "s", value: json.Number("99999999999999999999"), fail: "to date"},
		{typ: "date", value: true, fail: "cannot convert a boolean to date; value true"},
		{typ: "date", value: map[string]any{}, fail: "cannot convert an object to date"},
		// Debezium logical types override the unit.
		{typ: "date", unit: "s", logical: "io.debezium.time.Date", value: json.Number("19894"), want: `"2024-06-20 00:00:00 +00:00"`},
		{typ: "date", logical: "io.debezium.time.Date", value: json.Number("-56270"), want: `"1815-12-10 00:00:00 +00:00"`},
		{typ: "date", unit: "s", logical: "io.debezium.time.Timestamp", value: json.Number("1718886896123"), want: ada},
		{typ: "date", logical: "io.debezium.time.MicroTimestamp", value: json.Number("1718886896123456"), want: ada},
		{typ: "date", logical: "io.debezium.time.NanoTimestamp", value: json.Number("1718886896123456789"), want: ada},
		{typ: "date", logical: "io.debezium.time.ZonedTimestamp", value: "2024-06-20T12:34:56.123456Z", want: ada},
		{typ: "date", logical: "io.debezium.time.ZonedTimestamp", value: json.Number("1718886896"), fail: "to date"},
		{typ: "date", logical: "org.apache.kafka.connect.data.Timestamp", value: json.Number("1718886896000"), want: ada},
		{typ: "date", logical: "org.apache.kafka.connect.data.Date", value: json.Number("19894"), want: `"2024-06-20 00:00:00 +00:00"`},
		{typ: "date", logical: "io.debezium.time.MicroTime", value: json.Number("32400000000"),
			fail: "cannot convert a number to date: a time of day (io.debezium.time.MicroTime), not a date; value 32400000000"},
		{typ: "date", logical: "io.debezium.time.Year", value: json.Number("2024"), fail: "a year (io.debezium.time.Year)"},
		{typ: "date", logical: "io.debezium.data.Uuid", value: "2024-06-20", want: `"2024-06-20 00:00:00 +00:00"`},
		// Edges of Iterable's range.
		{typ: "date", value: "9999-12-31T23:59:59Z", want: `"9999-12-31 23:59:59 +00:00"`},
		{typ: "date", value: "0000-01-01T00:00:00Z", want: `"0000-01-01 00:00:00 +00:00"`},
		{typ: "date", value: "0000-01-01T00:00:00+01:00", fail: "outside the years 0000 to 9999"},
	})
}

// TestCanonicalIsStable maps logically equal rows and expects equal bytes.
func TestCanonicalIsStable(t *testing.T) {
	m := mustMapper(t, emailID(), "", Attribute{From: "v", To: "v"})
	enc := func(v any) string {
		uc, err := m.Map(change.Row{Op: change.OpUpsert, Fields: map[string]any{"email": "a@b.co", "v": v}}, change.Position{})
		if err != nil {
			t.Fatal(err)
		}
		return string(uc.Attrs[0].JSON)
	}
	pairs := [][2]any{
		{map[string]any{"a": json.Number("1"), "b": "x"}, map[string]any{"b": "x", "a": json.Number("1")}},
		{json.Number("1.50"), json.Number("15e-1")},
		{json.Number("-0"), json.Number("0")},
		{"\u00e9", "é"},
	}
	for _, p := range pairs {
		if a, b := enc(p[0]), enc(p[1]); a != b {
			t.Errorf("%v and %v encode as %s and %s", p[0], p[1], a, b)
		}
	}
	// The integer / fraction distinction is a type distinction for Iterable.
	if enc(json.Number("1")) == enc(json.Number("1.0")) {
		t.Error("1 and 1.0 encode alike")
	}
	for i := 0; i < 20; i++ {
		v := map[string]any{}
		for _, k := range strings.Split("q w e r t y u i o p", " ") {
			v[k] = k
		}
		if got := enc(v); got != `{"e":"e","i":"i","o":"o","p":"p","q":"q","r":"r","t":"t","u":"u","w":"w","y":"y"}` {
			t.Fatalf("map order leaked: %s", got)
		}
	}
}
