package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

func emailID() Identifier { return Identifier{Source: "email", As: "email"} }

func mustMapper(t testing.TB, id Identifier, onDelete OnDelete, attrs ...Attribute) *Mapper {
	t.Helper()
	m, err := New(Config{Identifier: id, Attributes: attrs, OnDelete: onDelete, UnavailableValue: DefaultUnavailableValue})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// attrsOf renders a change's attributes as name=json pairs.
func attrsOf(uc change.UserChange) string {
	parts := make([]string, len(uc.Attrs))
	for i, a := range uc.Attrs {
		parts[i] = a.Name + "=" + string(a.JSON)
	}
	return strings.Join(parts, " ")
}

func TestNewValidates(t *testing.T) {
	_, err := New(Config{
		Identifier: Identifier{Source: "", As: "phone"},
		Attributes: []Attribute{
			{From: "a", To: "x", Type: "text"},
			{From: "b..c", To: "y"},
			{From: "d", To: ""},
			{From: "e", To: "z", Unit: "h", Type: "date"},
			{From: "f", To: "w", Unit: "ms"},
			{From: "g", To: "v", Nulls: "drop"},
			{From: "h", To: "u"},
			{From: "i", To: "u"},
		},
		OnDelete: "purge",
	})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{
		`source.on_delete: "purge"`,
		`iterable.identifier.as: "phone"`,
		`iterable.attributes[0].type: "text"`,
		`iterable.attributes[1].from: "b..c" has an empty segment`,
		`iterable.attributes[2].to: empty`,
		`iterable.attributes[3].unit: "h"`,
		`iterable.attributes[4].unit: applies to type date only`,
		`iterable.attributes[5].nulls: "drop"`,
		`iterable.attributes[7].to: "u" is also the target of attributes[6]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if _, err := New(Config{Identifier: emailID()}); err == nil ||
		!strings.Contains(err.Error(), "at least one attribute") {
		t.Errorf("no attributes: %v", err)
	}
}

func TestSourceFields(t *testing.T) {
	m := mustMapper(t, Identifier{Source: "contact.email", As: "email"}, "",
		Attribute{From: "first_name", To: "firstName"},
		Attribute{From: "plan.tier", To: "planTier"},
		Attribute{From: "plan.seats", To: "seats"},
		Attribute{From: "contact.phone", To: "phone"},
	)
	got := strings.Join(m.SourceFields(), ",")
	if got != "contact,first_name,plan" {
		t.Fatalf("SourceFields = %s", got)
	}
}

func TestMapUpsert(t *testing.T) {
	m := mustMapper(t, emailID(), "",
		Attribute{From: "first_name", To: "firstName"},
		Attribute{From: "plan.tier", To: "planTier"},
		Attribute{From: "phone", To: "phoneNumber", Nulls: "skip"},
		Attribute{From: "nickname", To: "nickname"},
		Attribute{From: "missing", To: "missing"},
		Attribute{From: "plan.missing", To: "planMissing"},
	)
	src := time.UnixMilli(1718957730512).UTC()
	pos := change.Position{Topic: "t", Partition: 3, Offset: 42}
	uc, err := m.Map(change.Row{
		Op: change.OpUpsert,
		Fields: map[string]any{
			"email":      " Ada.Lovelace@Example.COM ",
			"first_name": "Ada",
			"plan":       map[string]any{"tier": "pro"},
			"phone":      nil,
			"nickname":   nil,
		},
		SourceTime: src,
	}, pos)
	if err != nil {
		t.Fatal(err)
	}
	if uc.User != (change.Identifier{Kind: change.Email, Value: "ada.lovelace@example.com"}) {
		t.Errorf("User = %+v", uc.User)
	}
	if got, want := attrsOf(uc), `firstName="Ada" planTier="pro" nickname=null`; got != want {
		t.Errorf("Attrs = %s, want %s", got, want)
	}
	if uc.Pos != pos || !uc.SourceTime.Equal(src) || uc.Forget {
		t.Errorf("Pos, SourceTime, Forget = %v, %v, %v", uc.Pos, uc.SourceTime, uc.Forget)
	}
	// Appending to one value must not overwrite the next.
	_ = append(uc.Attrs[0].JSON, "XXXX"...)
	if string(uc.Attrs[1].JSON) != `"pro"` {
		t.Errorf("attribute values share capacity: %s", uc.Attrs[1].JSON)
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]any
		want   string // attrsOf, "" when not present
		fail   string
	}{
		{"nested", map[string]any{"plan": map[string]any{"tier": "pro"}}, `x="pro"`, ""},
		{"deep", map[string]any{"plan": map[string]any{"tier": map[string]any{"name": "p"}}}, `x={"name":"p"}`, ""},
		{"missing leaf", map[string]any{"plan": map[string]any{}}, "", ""},
		{"missing parent", map[string]any{}, "", ""},
		{"null parent reads as null", map[string]any{"plan": nil}, `x=null`, ""},
		{"null leaf", map[string]any{"plan": map[string]any{"tier": nil}}, `x=null`, ""},
		{"json string parent", map[string]any{"plan": `{"tier":"gold","n":1}`}, `x="gold"`, ""},
		{"json string parent missing leaf", map[string]any{"plan": `{"n":1}`}, "", ""},
		{"scalar parent", map[string]any{"plan": json.Number("3")}, "", "attribute x (from plan.tier): plan is a number, not an object"},
		{"plain string parent", map[string]any{"plan": "pro"}, "", "plan is a string, not an object"},
		{"array parent", map[string]any{"plan": []any{"a"}}, "", "plan is an array, not an object"},
	}
	m := mustMapper(t, emailID(), "", Attribute{From: "plan.tier", To: "x"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fields["email"] = "a@b.co"
			uc, err := m.Map(change.Row{Op: change.OpUpsert, Fields: tt.fields}, change.Position{})
			checkConvert(t, err, tt.fail)
			if tt.fail == "" && attrsOf(uc) != tt.want {
				t.Errorf("Attrs = %q, want %q", attrsOf(uc), tt.want)
			}
		})
	}
}

// checkConvert asserts that err is a convert failure whose dead-letter
// message contains want, and returns it.
func checkConvert(t *testing.T, err error, want string) *change.Failure {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("Map: %v", err)
		}
		return nil
	}
	var f *change.Failure
	if !errors.As(err, &f) || f.Class != change.ClassConvert {
		t.Fatalf("Map error = %v, want a convert failure", err)
	}
	if !strings.Contains(f.Message(), want) {
		t.Fatalf("message = %q, want it to contain %q", f.Message(), want)
	}
	return f
}

func TestNulls(t *testing.T) {
	m := mustMapper(t, emailID(), "",
		Attribute{From: "a", To: "sent", Type: "date"},
		Attribute{From: "a", To: "skipped", Type: "number", Nulls: "skip"},
	)
	uc, err := m.Map(change.Row{Op: change.OpUpsert, Fields: map[string]any{"email": "a@b.co", "a": nil}}, change.Position{})
	if err != nil {
		t.Fatal(err)
	}
	if got := attrsOf(uc); got != "sent=null" {
		t.Fatalf("Attrs = %s", got)
	}
}

func TestDeletes(t *testing.T) {
	attrs := []Attribute{
		{From: "first_name", To: "firstName"},
		{From: "phone", To: "phone", Nulls: "skip"},
	}
	before := map[string]any{"email": "Ada@Example.com", "first_name": "Ada"}

	ignore := mustMapper(t, emailID(), "ignore", attrs...)
	if _, err := ignore.Map(change.Row{Op: change.OpDelete, Fields: before}, change.Position{}); !errors.Is(err, ErrIgnored) {
		t.Errorf("ignore: err = %v, want ErrIgnored", err)
	}
	deflt := mustMapper(t, emailID(), "", attrs...)
	if _, err := deflt.Map(change.Row{Op: change.OpDelete, Fields: before}, change.Position{}); !errors.Is(err, ErrIgnored) {
		t.Errorf("default: err = %v, want ErrIgnored", err)
	}

	unset := mustMapper(t, emailID(), "unset", attrs...)
	uc, err := unset.Map(change.Row{Op: change.OpDelete, Fields: before}, change.Position{Offset: 9})
	if err != nil {
		t.Fatal(err)
	}
	if uc.User.Value != "ada@example.com" || !uc.Forget || attrsOf(uc) != "firstName=null phone=null" || uc.Pos.Offset != 9 {
		t.Errorf("unset delete = %+v (%s)", uc, attrsOf(uc))
	}
	if _, err := unset.Map(change.Row{Op: change.OpDelete}, change.Position{}); !errors.Is(err, ErrIgnored) ||
		!strings.Contains(err.Error(), "tombstone") {
		t.Errorf("unset tombstone: err = %v, want ErrIgnored", err)
	}
	_, err = unset.Map(change.Row{Op: change.OpDelete, Fields: map[string]any{"id": json.Number("1"), "email": nil}}, change.Position{})
	var f *change.Failure
	if !errors.As(err, &f) || f.Class != change.ClassIdentifier || f.Reason != "email (from email): null" {
		t.Errorf("unset delete without identifier: err = %v", err)
	}
	if _, err := unset.Map(change.Row{Op: change.OpSkip, Skip: "heartbeat"}, change.Position{}); !errors.Is(err, ErrIgnored) ||
		!strings.Contains(err.Error(), "heartbeat") {
		t.Errorf("skip row: err = %v", err)
	}
	if _, err := unset.Map(change.Row{}, change.Position{}); err == nil || errors.Is(err, ErrIgnored) {
		t.Errorf("row without op: err = %v", err)
	}
}
