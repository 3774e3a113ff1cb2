package mapping

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
)

func TestDeleteUnderOnDeleteDelete(t *testing.T) {
	m := mustMapper(t, emailID(), "delete", Attribute{From: "first_name", To: "firstName"})
	pos := change.Position{Topic: "t", Offset: 4}
	uc, err := m.Map(change.Row{Op: change.OpDelete, Fields: map[string]any{"email": " Ada@Example.com", "first_name": "Ada"}}, pos)
	if err != nil {
		t.Fatal(err)
	}
	if !uc.Delete || uc.User.Value != "ada@example.com" || len(uc.Attrs) != 0 || uc.Forget || uc.Pos != pos {
		t.Errorf("delete = %+v, want a Delete of ada@example.com without attributes", uc)
	}
	// Postgres under REPLICA IDENTITY DEFAULT: the before image holds the
	// key columns only, and a tombstone nothing. Both still delete, by key.
	for _, fields := range []map[string]any{nil, {"id": json.Number("1")}, {"email": nil}} {
		uc, err := m.Map(change.Row{Op: change.OpDelete, Fields: fields}, pos)
		if err != nil || !uc.Delete || !uc.User.IsZero() {
			t.Errorf("delete of %v = %+v, %v: want an unidentified Delete", fields, uc, err)
		}
	}
	_, err = m.Map(change.Row{Op: change.OpDelete, Fields: map[string]any{"email": "not-an-email"}}, pos)
	var f *change.Failure
	if !errors.As(err, &f) || f.Class != change.ClassIdentifier {
		t.Errorf("delete with an invalid email: err = %v, want class identifier", err)
	}
}

func TestEmailChangeFromBeforeImage(t *testing.T) {
	attr := Attribute{From: "first_name", To: "firstName"}
	m := mustMapper(t, emailID(), "", attr)
	row := func(before map[string]any) change.Row {
		return change.Row{Op: change.OpUpsert, Fields: map[string]any{"email": "New@Example.com", "first_name": "A"}, Before: before}
	}
	for _, tc := range []struct {
		before map[string]any
		from   string
	}{
		{map[string]any{"email": "Old@Example.com"}, "old@example.com"},
		{map[string]any{"email": "new@example.COM "}, ""}, // same email, other spelling
		{map[string]any{"email": "New@Example.com"}, ""},  // same spelling: not read again
		{map[string]any{"email": DefaultUnavailableValue}, ""},
		{nil, ""},
		{map[string]any{"email": "broken"}, ""},
		{map[string]any{}, ""},
	} {
		uc, err := m.Map(row(tc.before), change.Position{})
		if err != nil {
			t.Fatal(err)
		}
		if uc.From.Value != tc.from || (tc.from != "" && uc.From.Kind != change.Email) {
			t.Errorf("before %v: From %+v, want %q", tc.before, uc.From, tc.from)
		}
	}
	// Under identifier.as userId an email is only an attribute.
	byID := mustMapper(t, Identifier{Source: "id", As: "userId"}, "", attr)
	uc, err := byID.Map(change.Row{Op: change.OpUpsert, Fields: map[string]any{"id": "u1", "first_name": "A"}, Before: map[string]any{"id": "u0"}}, change.Position{})
	if err != nil || !uc.From.IsZero() {
		t.Errorf("userId sync: From %+v, %v: want none", uc.From, err)
	}
}
