package testenv

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/schemas"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// CheckDeadLetter fails the test unless m, a record read from the
// dead-letter topic, matches schemas/dlq-record.schema.json.
func CheckDeadLetter(t testing.TB, m change.Message) {
	t.Helper()
	data, err := schemas.FS.ReadFile("dlq-record.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("dlq-record.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	schema, err := c.Compile("dlq-record.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"key": b64(m.Key), "value": b64(m.Value)}
	headers := map[string]any{}
	for _, h := range m.Headers {
		if _, dup := headers[h.Key]; dup {
			t.Errorf("dead letter repeats header %s", h.Key)
		}
		headers[h.Key] = string(h.Value)
	}
	rec["headers"] = headers
	// Round-trip through JSON so the validator sees plain JSON values.
	raw, _ := json.Marshal(rec)
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := schema.Validate(inst); err != nil {
		t.Errorf("dead letter does not match schemas/dlq-record.schema.json: %v", err)
	}
}

func b64(b []byte) any {
	if b == nil {
		return nil
	}
	return base64.StdEncoding.EncodeToString(b)
}
