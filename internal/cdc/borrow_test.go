package cdc

import (
	"reflect"
	"strings"
	"testing"
)

// TestBorrowValue decodes every fixture of the JSON formats twice, the
// second time with the schema cache warm (the path most messages take),
// with and without BorrowValue: the rows are the same, and only the
// borrowing decoder's rows share the value's bytes.
func TestBorrowValue(t *testing.T) {
	cases := []struct{ format, file string }{
		{FormatDebezium, "debezium_users_update_schema.json"},
		{FormatDebezium, "debezium_users_create.json"},
		{FormatDebezium, "debezium_users_delete_schema.json"},
		{FormatFlat, "flat_users_update_schema.json"},
		{FormatFlat, "flat_users_update.json"},
		{FormatJSON, "json_users_row.json"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			value := fixture(t, c.file)
			copying := mustNew(t, c.format, WithBefore("email"))
			borrowing := mustNew(t, c.format, WithBefore("email"), BorrowValue())
			for round := range 2 {
				want, err := copying.Decode(nil, value)
				if err != nil {
					t.Fatal(err)
				}
				got, err := borrowing.Decode(nil, value)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("round %d: borrowed row %+v, copied row %+v", round, got, want)
				}
				email, _ := got.Fields["email"].(string)
				if email == "" {
					continue
				}
				// The borrowed email is the value's bytes; a change to
				// them shows through, as BorrowValue warns.
				v := append([]byte(nil), value...)
				got, err = borrowing.Decode(nil, v)
				if err != nil {
					t.Fatal(err)
				}
				copied, err := copying.Decode(nil, v)
				if err != nil {
					t.Fatal(err)
				}
				// Read before the change: the map's keys are borrowed too.
				borrowedEmail, copiedEmail := got.Fields["email"].(string), copied.Fields["email"].(string)
				for i := range v {
					v[i] = 'X'
				}
				if borrowedEmail != strings.Repeat("X", len(email)) {
					t.Errorf("round %d: borrowed email %q does not share the value's bytes", round, borrowedEmail)
				}
				if copiedEmail != email {
					t.Errorf("round %d: copied email %q changed with the value", round, copiedEmail)
				}
			}
		})
	}
}
