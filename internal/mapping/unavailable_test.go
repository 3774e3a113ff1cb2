package mapping_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/mapping"
)

const toast = "__debezium_unavailable_value"

// toastedRow is a users row as Debezium's Postgres connector writes it after
// an update that left the TOASTed columns alone (REPLICA IDENTITY DEFAULT):
// each such column holds the placeholder in the shape of its type.
func toastedRow() map[string]any {
	bytes := make([]any, len(toast))
	for i := range len(toast) {
		bytes[i] = int(toast[i])
	}
	return map[string]any{
		"id":            7,
		"email":         "ada@example.com",
		"first_name":    "Ada",
		"last_name":     toast,                                      // text
		"bio":           toast,                                      // text, mapped as type string
		"plan":          toast,                                      // jsonb, walked into by plan.tier
		"last_login_at": toast,                                      // text holding ISO dates, type date
		"settings":      map[string]any{"theme": toast},             // a nested leaf
		"avatar":        "X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==", // bytea, base64
		"tags":          []any{toast},                               // text[]
		"scores":        bytes,                                      // int[]
		"prefs":         map[string]any{toast: toast},               // hstore, map mode
		"prefs_json":    `{"` + toast + `":"` + toast + `"}`,        // hstore, json mode
		"motto":         "not " + toast,                             // data that merely contains it
	}
}

func toastedAttributes() []mapping.Attribute {
	return []mapping.Attribute{
		{From: "first_name", To: "firstName"},
		{From: "last_name", To: "lastName"},
		{From: "bio", To: "bio", Type: "string"},
		{From: "plan.tier", To: "planTier"},
		{From: "plan", To: "plan", Type: "object"},
		{From: "last_login_at", To: "lastLoginAt", Type: "date"},
		{From: "settings.theme", To: "theme"},
		{From: "avatar", To: "avatar"},
		{From: "tags", To: "tags"},
		{From: "scores", To: "scores"},
		{From: "prefs", To: "prefs", Type: "object"},
		{From: "prefs_json", To: "prefsJson", Type: "object"},
		{From: "motto", To: "motto"},
	}
}

// encodings are the row as each source.format carries it.
func encodings(t *testing.T, row map[string]any) map[string][]byte {
	t.Helper()
	enc := func(v any) []byte {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	envelope := map[string]any{"before": nil, "after": row, "op": "u", "ts_ms": 1718957730800,
		"source": map[string]any{"connector": "postgresql", "ts_ms": 1718957730512}}
	flat := map[string]any{"__op": "u", "__deleted": "false"}
	for k, v := range row {
		flat[k] = v
	}
	// The schema names a logical type for last_login_at, so the date
	// conversion takes the Debezium path there.
	fields := []any{map[string]any{"type": "string", "optional": true, "name": "io.debezium.time.ZonedTimestamp", "field": "last_login_at"}}
	schema := map[string]any{"type": "struct", "fields": []any{
		map[string]any{"type": "struct", "optional": true, "field": "before", "fields": fields},
		map[string]any{"type": "struct", "optional": true, "field": "after", "fields": fields},
	}}
	return map[string][]byte{
		"debezium":        enc(envelope),
		"debezium+schema": enc(map[string]any{"schema": schema, "payload": envelope}),
		"flat":            enc(flat),
		"flat+schema":     enc(map[string]any{"schema": map[string]any{"type": "struct", "fields": fields}, "payload": flat}),
		"json":            enc(row),
	}
}

func formatOf(name string) string { return strings.TrimSuffix(name, "+schema") }

// TestUnavailableValueIsNotPresent: whatever the source format, a column
// Debezium could not read leaves its attribute alone in Iterable, as a
// missing field does, instead of sending the placeholder (or failing to
// convert it).
func TestUnavailableValueIsNotPresent(t *testing.T) {
	m, err := mapping.New(mapping.Config{
		Identifier:       mapping.Identifier{Source: "email", As: "email"},
		Attributes:       toastedAttributes(),
		UnavailableValue: mapping.DefaultUnavailableValue,
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range encodings(t, toastedRow()) {
		t.Run(name, func(t *testing.T) {
			dec, err := cdc.New(formatOf(name))
			if err != nil {
				t.Fatal(err)
			}
			row, err := dec.Decode([]byte(`{"id":7}`), value)
			if err != nil {
				t.Fatal(err)
			}
			uc, err := m.Map(row, change.Position{Topic: "users", Offset: 1})
			if err != nil {
				t.Fatalf("Map: %v", err)
			}
			got := attrsOf(uc)
			if want := `firstName="Ada" motto="not ` + toast + `"`; got != want {
				t.Errorf("attributes sent: %s\nwant only:       %s", got, want)
			}
		})
	}
}

// TestUnavailableValueConfigurable: source.unavailable_value names the
// placeholder (as text, or as hex: bytes like Debezium's setting), and ""
// turns the rule off.
func TestUnavailableValueConfigurable(t *testing.T) {
	row := map[string]any{"email": "ada@example.com", "first_name": "n/a", "last_name": toast}
	attrs := []mapping.Attribute{{From: "first_name", To: "firstName"}, {From: "last_name", To: "lastName"}}
	for _, c := range []struct {
		setting string
		want    string
	}{
		{"n/a", `lastName="` + toast + `"`},
		{"hex:6e2f61", `lastName="` + toast + `"`}, // "n/a"
		{"", `firstName="n/a" lastName="` + toast + `"`},
		{mapping.DefaultUnavailableValue, `firstName="n/a"`},
	} {
		m, err := mapping.New(mapping.Config{Identifier: mapping.Identifier{Source: "email", As: "email"}, Attributes: attrs,
			UnavailableValue: c.setting})
		if err != nil {
			t.Fatalf("%q: %v", c.setting, err)
		}
		uc, err := m.Map(change.Row{Op: change.OpUpsert, Fields: row}, change.Position{})
		if err != nil {
			t.Fatalf("%q: %v", c.setting, err)
		}
		if got := attrsOf(uc); got != c.want {
			t.Errorf("unavailable_value %q: sent %s, want %s", c.setting, got, c.want)
		}
	}
	_, err := mapping.New(mapping.Config{Identifier: mapping.Identifier{Source: "email", As: "email"}, Attributes: attrs,
		UnavailableValue: "hex:zz"})
	if err == nil || !strings.Contains(err.Error(), "source.unavailable_value") {
		t.Errorf("a bad hex: placeholder: %v, want an error naming source.unavailable_value", err)
	}
}

// TestUnavailableIdentifier: a userId column holding the placeholder would
// otherwise be a valid userId shared by every such row.
func TestUnavailableIdentifier(t *testing.T) {
	m, err := mapping.New(mapping.Config{
		Identifier:       mapping.Identifier{Source: "uid", As: "userId"},
		Attributes:       []mapping.Attribute{{From: "first_name", To: "firstName"}},
		UnavailableValue: mapping.DefaultUnavailableValue,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Map(change.Row{Op: change.OpUpsert, Fields: map[string]any{"uid": toast, "first_name": "Ada"}}, change.Position{})
	var f *change.Failure
	if !errors.As(err, &f) || f.Class != change.ClassIdentifier {
		t.Fatalf("Map = %v, want an identifier failure", err)
	}
}

func attrsOf(uc change.UserChange) string {
	parts := make([]string, len(uc.Attrs))
	for i, a := range uc.Attrs {
		parts[i] = a.Name + "=" + string(a.JSON)
	}
	return strings.Join(parts, " ")
}
