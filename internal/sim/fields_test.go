package sim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
)

// mismatch posts body, expects 400 RequestFieldsTypesMismatched and returns
// params.validationErrors.
func mismatch(t *testing.T, base string, body any) map[string]map[string]any {
	t.Helper()
	r := bulk(t, base, body)
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, r.body)
	}
	code, _ := apiErr(t, r)
	if code != "RequestFieldsTypesMismatched" {
		t.Fatalf("code %q", code)
	}
	var e struct {
		Params struct {
			ValidationErrors map[string]map[string]any `json:"validationErrors"`
		} `json:"params"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatal(err)
	}
	return e.Params.ValidationErrors
}

func TestTypeMismatchRejectsWholeRequest(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"score": 10}}))
	before := s.Profiles()

	ve := mismatch(t, base, users(
		map[string]any{"email": "new@example.com", "dataFields": map[string]any{"ok": "fine"}},
		map[string]any{"email": "a@example.com", "dataFields": map[string]any{"score": "GGG"}},
	))
	want := map[string]map[string]any{"score": {
		"incomingTypes":  []any{"string", "keyword"},
		"expectedType":   "long",
		"_type":          "UnexpectedType",
		"offendingValue": "GGG",
		"category":       "user",
	}}
	if !reflect.DeepEqual(ve, want) {
		t.Errorf("validationErrors %v, want %v", ve, want)
	}
	if after := s.Profiles(); !reflect.DeepEqual(after, before) {
		t.Errorf("a rejected request changed profiles: %v", keys(after))
	}
	if _, ok := s.Fields()["ok"]; ok {
		t.Error("a rejected request created a field")
	}
	if s.Stats().TypeMismatches != 1 {
		t.Errorf("stats %+v", s.Stats())
	}
}

func TestTypeFixedWithinRequest(t *testing.T) {
	s, base := newSim(t, Options{})
	ve := mismatch(t, base, users(
		map[string]any{"email": "a@example.com", "dataFields": map[string]any{"x": 1}},
		map[string]any{"email": "b@example.com", "dataFields": map[string]any{"x": "one"}},
	))
	if ve["x"]["expectedType"] != "long" {
		t.Errorf("%v", ve)
	}
	if len(s.Fields()) != 0 || len(s.Profiles()) != 0 {
		t.Errorf("state changed: %v %v", s.Fields(), s.Profiles())
	}
}

func TestFieldTypeRules(t *testing.T) {
	s, base := newSim(t, Options{})
	first := map[string]any{
		"l": 1, "d": 1.5, "b": true, "s": "text", "dt": "2024-01-02T03:04:05.123Z",
		"obj": map[string]any{"tier": "gold", "n": 2}, "arr": []any{1, 2},
	}
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": first}))
	want := map[string]FieldType{
		"l": TypeLong, "d": TypeDouble, "b": TypeBoolean, "s": TypeString, "dt": TypeDate,
		"obj": TypeObject, "obj.tier": TypeString, "obj.n": TypeLong, "arr": TypeLong,
	}
	if got := s.Fields(); !reflect.DeepEqual(got, want) {
		t.Fatalf("schema %v, want %v", got, want)
	}
	if got := mustProfile(t, s, "a@example.com").DataFields["dt"]; got != "2024-01-02 03:04:05 +00:00" {
		t.Errorf("date stored as %v, want Iterable's layout", got)
	}

	accepted := []map[string]any{
		{"d": 2},                             // double accepts an int
		{"l": -7},                            // long accepts an int
		{"s": "2024-01-02 03:04:05 +00:00"},  // a date-like string fits a string field
		{"dt": "2020-02-03 04:05:06 +00:00"}, // Iterable's own layout
		{"dt": "2020-02-03"},
		{"arr": 3}, // arrays are typed by their elements
		{"arr": []any{}},
		{"obj": map[string]any{"n": 3}},
	}
	for _, df := range accepted {
		if r := bulk(t, base, users(map[string]any{"email": "a@example.com", "dataFields": df})); r.status != 200 {
			t.Errorf("%v refused: %d %s", df, r.status, r.body)
		}
	}

	rejected := []struct {
		df       map[string]any
		path     string
		expected string
		incoming []any
	}{
		{map[string]any{"l": 1.5}, "l", "long", []any{"double"}},
		{map[string]any{"l": "1"}, "l", "long", []any{"string", "keyword"}},
		{map[string]any{"s": 5}, "s", "string", []any{"long"}},
		{map[string]any{"b": "true"}, "b", "boolean", []any{"string", "keyword"}},
		{map[string]any{"dt": "GGG"}, "dt", "date", []any{"string", "keyword"}},
		{map[string]any{"dt": "2020-04-13 14:04:09.000"}, "dt", "date", []any{"string", "keyword"}},
		{map[string]any{"obj": "flat"}, "obj", "object", []any{"string", "keyword"}},
		{map[string]any{"s": map[string]any{"a": 1}}, "s", "string", []any{"object"}},
		{map[string]any{"obj": map[string]any{"tier": 5}}, "obj.tier", "string", []any{"long"}},
		{map[string]any{"arr": []any{1, "two"}}, "arr", "long", []any{"string", "keyword"}},
	}
	for _, c := range rejected {
		ve := mismatch(t, base, users(map[string]any{"email": "a@example.com", "dataFields": c.df}))
		e, ok := ve[c.path]
		if !ok || e["expectedType"] != c.expected || !reflect.DeepEqual(e["incomingTypes"], c.incoming) {
			t.Errorf("%v: validationErrors %v, want %s expected %s incoming %v", c.df, ve, c.path, c.expected, c.incoming)
		}
	}
}

func TestNewStringFieldIsNotDate(t *testing.T) {
	s, base := newSim(t, Options{})
	bulkOK(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"when": "tomorrow"}}))
	if s.Fields()["when"] != TypeString {
		t.Fatalf("schema %v", s.Fields())
	}
	if r := bulk(t, base, users(map[string]any{"email": "a@example.com", "dataFields": map[string]any{"when": "2024-01-01"}})); r.status != 200 {
		t.Errorf("date-like string into a string field: %d", r.status)
	}
	if got := mustProfile(t, s, "a@example.com").DataFields["when"]; got != "2024-01-01" {
		t.Errorf("string field value rewritten: %v", got)
	}
}

func TestParseDate(t *testing.T) {
	for s, want := range map[string]bool{
		"2016-08-02 18:53:45 +00:00":     true,
		"2016-08-02 18:53:45 -05:00":     true,
		"2016-08-02 18:53:45":            true,
		"2016-08-02":                     true,
		"2020-08-19T20:50:04.000Z":       true,
		"2020-08-19T20:50:04Z":           true,
		"2020-08-19T20:50:04.5+02:00":    true,
		"2020-08-19T20:50:04":            true,
		"2020-04-13 14:04:09.000":        false,
		"2020-04-13 14:04:09.000 +00:00": false,
		"13/04/2020":                     false,
		"2020-13-01":                     false,
		"":                               false,
	} {
		if _, got := parseDate(s); got != want {
			t.Errorf("parseDate(%q) = %v, want %v", s, got, want)
		}
	}
}
