package jsonappend

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAppendStringRoundTrips(t *testing.T) {
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr\bbs\fff", "\x00\x01\x1f",
		"<b>&amp;</b>", "emoji 🎉 and é", "line\u2028sep\u2029", "bad \xff utf8 \xc3",
	} {
		b := AppendString(nil, s)
		if !json.Valid(b) {
			t.Errorf("%q: invalid JSON %s", s, b)
			continue
		}
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if !utf8.ValidString(s) {
			// Each invalid byte becomes its own U+FFFD.
			want = ""
			for i := 0; i < len(s); {
				r, n := utf8.DecodeRuneInString(s[i:])
				want += string(r)
				i += n
			}
		}
		if got != want {
			t.Errorf("%q: round trip gave %q, want %q", s, got, want)
		}
	}
}

func TestValidNumberAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range []string{
		"0", "-0", "7", "-12", "3.25", "1e9", "1E+9", "2.5e-3", "123456789012345678901234567890",
		"", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x1", "1.5.2", " 1", "1 ", "NaN", "--1",
	} {
		if got, want := ValidNumber(s), json.Valid([]byte(s)) && s != "" && s[0] != ' ' && s[len(s)-1] != ' '; got != want {
			t.Errorf("ValidNumber(%q) = %v, want %v", s, got, want)
		}
	}
	if end, problem := ScanNumber(`{"n":12.5e3,`, 5); problem != "" || end != 11 {
		t.Errorf("ScanNumber inside a document = %d, %q; want 11", end, problem)
	}
}
