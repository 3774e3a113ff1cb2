package mapping_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/mapping"
)

// indexValues are JSON values of every kind a column may hold, written as
// their raw text so that numbers keep theirs, with the strings the
// conversions read specially.
var indexValues = []string{
	`"Ada"`, `""`, `" 42 "`, `"1.50"`, `"true"`, `" FALSE "`, `"2024-06-01T10:00:00Z"`, `"1718957730512"`,
	`"{\"tier\":\"pro\"}"`, `"[1,2]"`, `"{broken"`, `"` + toast + `"`, `"not ` + toast + `"`, `"caf\u00e9"`,
	`1.50`, `-0`, `0`, `1`, `2`, `1718957730512`, `1e400`, `12345678901234567890123`, `-1e-7`,
	`true`, `false`, `null`, `{"tier":"pro","n":1.0}`, `[]`, `["a",1]`,
}

// TestMapByIndexSameAsByName: a row decoded as a sync decodes it (only the
// mapped fields, by index, strings and numbers kept as text) maps to the
// very change, or the very failure, that the same row decoded into maps
// does, for values of every kind under every attribute type, and for
// identifiers of every kind in the row and in its before image.
func TestMapByIndexSameAsByName(t *testing.T) {
	var cases []struct{ name, id, before, v string }
	for _, v := range indexValues {
		cases = append(cases, struct{ name, id, before, v string }{"value " + v, `"ada@example.com"`, `"ada@example.com"`, v})
	}
	for _, id := range indexValues {
		cases = append(cases, struct{ name, id, before, v string }{"identifier " + id, id, `"old@example.com"`, `"Ada"`},
			struct{ name, id, before, v string }{"before " + id, `"ada@example.com"`, id, `"Ada"`})
	}
	for _, as := range []mapping.IdentifierAs{mapping.AsEmail, mapping.AsUserID} {
		for _, typ := range []mapping.Type{"", "string", "number", "boolean", "date", "object"} {
			m, err := mapping.New(mapping.Config{
				Identifier:       mapping.Identifier{Source: "email", As: as},
				Attributes:       []mapping.Attribute{{From: "v", To: "out", Type: typ}, {From: "v.tier", To: "tier"}},
				UnavailableValue: mapping.DefaultUnavailableValue,
			})
			if err != nil {
				t.Fatal(err)
			}
			byName, err := cdc.New(cdc.FormatDebezium, cdc.WithBefore("email"))
			if err != nil {
				t.Fatal(err)
			}
			byIndex, err := cdc.New(cdc.FormatDebezium, cdc.OnlyFields(m.SourceFields()...), cdc.WithBefore("email"),
				cdc.BorrowValue(), cdc.ByIndex())
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cases {
				msg := []byte(fmt.Sprintf(`{"before":{"email":%s,"v":1},"after":{"id":7,"email":%s,"v":%s},"op":"u","ts_ms":1718957730800}`,
					c.before, c.id, c.v))
				want := mapWith(t, byName, m, msg)
				got := mapWith(t, byIndex, m, msg)
				if got != want {
					t.Errorf("%s, type %q, %s: by index\n%s\nby name\n%s", as, typ, c.name, got, want)
				}
			}
		}
	}
}

// mapWith decodes msg with dec and maps it, and describes the outcome: the
// change, or the failure with its detail.
func mapWith(t *testing.T, dec *cdc.Decoder, m *mapping.Mapper, msg []byte) string {
	t.Helper()
	row, err := dec.Decode([]byte(`{"id":7}`), msg)
	if err != nil {
		t.Fatalf("decode %s: %v", msg, err)
	}
	uc, err := m.Map(row, change.Position{Topic: "users", Offset: 1})
	if err != nil {
		var f *change.Failure
		if errors.As(err, &f) {
			return fmt.Sprintf("failure %s (detail %q)", f.Error(), f.Detail)
		}
		return "error " + err.Error()
	}
	return fmt.Sprintf("user %v from %v: %s", uc.User, uc.From, attrsOf(uc))
}
