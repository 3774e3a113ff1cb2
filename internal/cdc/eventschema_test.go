package cdc

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaBase = "https://github.com/attrsync/attrsync/schemas/events/"

// eventSchemas compiles schemas/events/*.schema.json.
func eventSchemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	files, err := filepath.Glob("../../schemas/events/*.schema.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no event schemas: %v", err)
	}
	c := jsonschema.NewCompiler()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := c.AddResource(schemaBase+filepath.Base(f), doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	out := make(map[string]*jsonschema.Schema, len(files))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".schema.json")
		s, err := c.Compile(schemaBase + filepath.Base(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[name] = s
	}
	return out
}

// TestFixturesMatchEventSchemas keeps the documented shapes and the test
// fixtures (and so the decoder) in agreement.
func TestFixturesMatchEventSchemas(t *testing.T) {
	schemas := eventSchemas(t)
	valid := map[string][]string{
		"debezium_users_update_schema.json":   {"debezium-envelope-wrapped"},
		"debezium_users_snapshot_schema.json": {"debezium-envelope-wrapped"},
		"debezium_users_delete_schema.json":   {"debezium-envelope-wrapped"},
		"debezium_users_create.json":          {"debezium-envelope", "json-row"},
		"debezium_users_delete.json":          {"debezium-envelope"},
		"debezium_truncate.json":              {"debezium-envelope"},
		"debezium_message.json":               {"debezium-envelope"},
		"debezium_heartbeat.json":             {"debezium-skipped"},
		"debezium_heartbeat_schema.json":      {"debezium-envelope-wrapped", "flat-wrapped"},
		"debezium_transaction_begin.json":     {"debezium-skipped"},
		"debezium_transaction_end.json":       {"debezium-skipped"},
		"debezium_schema_change.json":         {"debezium-skipped"},
		"flat_users_update_schema.json":       {"flat-wrapped"},
		"flat_users_update.json":              {"flat"},
		"flat_users_deleted.json":             {"flat"},
		"json_users_row.json":                 {"json-row", "flat"},
	}
	for file, names := range valid {
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(fixture(t, file)))
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, name := range names {
			s, ok := schemas[name]
			if !ok {
				t.Fatalf("no schema %s", name)
			}
			if err := s.Validate(inst); err != nil {
				t.Errorf("%s does not match %s: %v", file, name, err)
			}
		}
	}
	invalid := map[string]string{
		`{"op":"x","after":{}}`:                           "debezium-envelope",
		`{"op":"u","after":null}`:                         "debezium-envelope",
		`{"op":"c","after":[1]}`:                          "debezium-envelope",
		`{"schema":{"type":"struct"},"payload":{},"x":1}`: "debezium-envelope-wrapped",
		`{"__op":"z"}`:                                    "flat",
		`[1]`:                                             "json-row",
		`{"ts_ms":1,"other":2}`:                           "debezium-skipped",
	}
	for value, name := range invalid {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(value))
		if err != nil {
			t.Fatal(err)
		}
		if schemas[name].Validate(inst) == nil {
			t.Errorf("%s accepts %s", name, value)
		}
	}
}
