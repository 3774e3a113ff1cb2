package cdc

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestRowsReadUpToTheirLastKeptField checks the rows of updates whose
// columns a sync reads only some of, where reading stops at the last of
// them: every kept field is read wherever it sits, missing ones stay
// missing, and what follows (nested, quoted, repeated) is stepped over.
// The rows are compared with encoding/json's reading of the same images.
func TestRowsReadUpToTheirLastKeptField(t *testing.T) {
	images := []string{
		`{"id":1,"email":"a@example.com","first_name":"Ann","plan":"pro"}`,
		`{"first_name":"Ann","id":1,"email":"a@example.com"}`,
		`{"id":1,"email":"a@example.com","plan":"pro"}`,
		`{"email":"a@example.com","email":"a@example.com","first_name":"Ann","x":1}`,
		`{"email":"a@example.com","first_name":null,"tags":[{"a":"}"}],"z":"\"}"}`,
		`{"id":1}`,
		`{}`,
	}
	for _, byIndex := range []bool{false, true} {
		opts := []Option{OnlyFields("email", "first_name"), WithBefore("email")}
		if byIndex {
			opts = append(opts, ByIndex())
		}
		d := mustNew(t, FormatDebezium, opts...)
		for _, img := range images {
			row, err := d.Decode(nil, []byte(`{"before":`+img+`,"after":`+img+`,"op":"u","ts_ms":1}`))
			if err != nil {
				t.Errorf("by index %v, %s: %v", byIndex, img, err)
				continue
			}
			row = row.Unindexed()
			var all map[string]any
			if err := json.Unmarshal([]byte(img), &all); err != nil {
				t.Fatal(err)
			}
			after, before := map[string]any{}, map[string]any{}
			for _, k := range []string{"email", "first_name"} {
				if v, ok := all[k]; ok {
					after[k] = v
				}
			}
			if v, ok := all["email"]; ok {
				before["email"] = v
			}
			if !reflect.DeepEqual(row.Fields, after) || !reflect.DeepEqual(row.Before, before) {
				t.Errorf("by index %v, %s: after %v before %v, want %v and %v", byIndex, img, row.Fields, row.Before, after, before)
			}
		}
	}
}
