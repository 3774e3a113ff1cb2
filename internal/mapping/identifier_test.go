package mapping

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
)

func TestIdentifiers(t *testing.T) {
	long52 := strings.Repeat("u", 52)
	tests := []struct {
		as     IdentifierAs
		value  any // nil with absent=true: field missing
		absent bool
		want   string
		reason string
	}{
		{as: "email", value: "Ada.Lovelace@Example.COM", want: "ada.lovelace@example.com"},
		{as: "email", value: "  ada@example.com\t", want: "ada@example.com"},
		{as: "email", value: "o'brien+tag@mail.example.co.uk", want: "o'brien+tag@mail.example.co.uk"},
		{as: "email", value: "JOSÉ@exämple.de", want: "josé@exämple.de"},
		{as: "email", value: "a@example.xn--p1ai", want: "a@example.xn--p1ai"},
		{as: "email", absent: true, reason: "email (from contact.email): missing"},
		{as: "email", value: nil, reason: "email (from contact.email): null"},
		{as: "email", value: json.Number("5"), reason: "a number, not a string"},
		{as: "email", value: "", reason: "invalid email (no @)"},
		{as: "email", value: "ada.example.com", reason: "invalid email (no @)"},
		{as: "email", value: "a@b@example.com", reason: "invalid email (more than one @)"},
		{as: "email", value: "@example.com", reason: "invalid email (empty local part)"},
		{as: "email", value: "a b@example.com", reason: "invalid email (space or control character in local part)"},
		{as: "email", value: "a\x01b@example.com", reason: "invalid email (space or control character in local part)"},
		{as: "email", value: ".a@example.com", reason: "invalid email (misplaced dot in local part)"},
		{as: "email", value: "a..b@example.com", reason: "invalid email (misplaced dot in local part)"},
		{as: "email", value: "a(b)@example.com", reason: `invalid email ('(' not allowed in local part)`},
		{as: "email", value: "ada@localhost", reason: "invalid email (domain has no dot)"},
		{as: "email", value: "ada@", reason: "invalid email (empty domain)"},
		{as: "email", value: "ada@example..com", reason: "invalid email (empty domain label)"},
		{as: "email", value: "ada@-example.com", reason: "invalid email (domain label starts or ends with a hyphen)"},
		{as: "email", value: "ada@exa_mple.com", reason: "invalid email (invalid character in domain)"},
		{as: "email", value: "ada@example.c", reason: "invalid email (invalid top-level domain)"},
		{as: "email", value: "ada@example.123", reason: "invalid email (invalid top-level domain)"},
		{as: "email", value: strings.Repeat("a", 65) + "@example.com", reason: "local part longer than 64 characters"},
		{as: "email", value: "a@" + strings.Repeat("b", 250) + ".com", reason: "longer than 254 characters"},
		{as: "email", value: "a\xff@example.com", reason: "invalid UTF-8"},
		{as: "userId", value: "User-42", want: "User-42"},
		{as: "userId", value: " lead space", want: " lead space"},
		{as: "userId", value: long52, want: long52},
		{as: "userId", value: json.Number("1001"), want: "1001"},
		{as: "userId", value: json.Number("-7"), want: "-7"},
		{as: "userId", value: json.Number("1.5"), reason: "not an integer"},
		{as: "userId", value: json.Number("1e3"), reason: "not an integer"},
		{as: "userId", value: "", reason: "invalid userId (empty)"},
		{as: "userId", value: long52 + "u", reason: "invalid userId (longer than 52 characters)"},
		{as: "userId", value: "user42 ", reason: "invalid userId (trailing space)"},
		{as: "userId", value: "usér", reason: "invalid userId (non-ASCII or non-printable character at position 3)"},
		{as: "userId", value: "a\tb", reason: "non-printable character at position 2"},
		{as: "userId", value: true, reason: "userId (from contact.email): a boolean, not a string"},
		{as: "userId", value: map[string]any{}, reason: "an object, not a string"},
	}
	for _, tt := range tests {
		name := string(tt.as) + "/" + tt.want + tt.reason
		t.Run(name, func(t *testing.T) {
			m := mustMapper(t, Identifier{Source: "contact.email", As: tt.as}, "",
				Attribute{From: "x", To: "x"})
			contact := map[string]any{}
			if !tt.absent {
				contact["email"] = tt.value
			}
			uc, err := m.Map(change.Row{Op: change.OpUpsert, Fields: map[string]any{"contact": contact}}, change.Position{})
			if tt.reason != "" {
				var f *change.Failure
				if !errors.As(err, &f) || f.Class != change.ClassIdentifier {
					t.Fatalf("err = %v, want an identifier failure", err)
				}
				if !strings.Contains(f.Reason, tt.reason) {
					t.Fatalf("reason = %q, want it to contain %q", f.Reason, tt.reason)
				}
				if s, ok := tt.value.(string); ok && len(s) > 3 && strings.Contains(f.Reason, s) {
					t.Fatalf("reason %q repeats the identifier", f.Reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantKind := change.Email
			if tt.as == "userId" {
				wantKind = change.UserID
			}
			if uc.User.Value != tt.want || uc.User.Kind != wantKind {
				t.Fatalf("User = %+v, want %v %q", uc.User, wantKind, tt.want)
			}
		})
	}
}

// TestLocalSpecial checks that localSpecial tells apart exactly the bytes
// of localSpecials, which checkLocalRunes searches.
func TestLocalSpecial(t *testing.T) {
	for c := range 128 {
		if got, want := localSpecial(byte(c)), strings.IndexByte(localSpecials, byte(c)) >= 0; got != want {
			t.Errorf("localSpecial(%q) = %v, want %v", rune(c), got, want)
		}
	}
}
