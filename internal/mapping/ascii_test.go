package mapping

import (
	"math/rand/v2"
	"testing"
	"unicode"
)

// TestASCIIFastPaths compares the byte-at-a-time checks of local parts and
// domain labels with their rune-by-rune definitions, on random strings of
// ASCII (every byte value below 0x80) mixed with a few runes beyond it.
func TestASCIIFastPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	extra := []rune{0x85, 0xa0, 'é', 'ß', '\u2028', '\u3000', 'Ж', '٣', '\ufffd'}
	labelRunes := func(l string) bool {
		for _, r := range l {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' {
				return false
			}
		}
		return true
	}
	for range 200_000 {
		n := 1 + rng.IntN(8)
		rs := make([]rune, n)
		for i := range rs {
			if rng.IntN(10) == 0 {
				rs[i] = extra[rng.IntN(len(extra))]
			} else {
				rs[i] = rune(rng.IntN(0x80))
			}
			if rs[i] == '.' {
				rs[i] = 'x' // the dot rules come first in checkLocal
			}
		}
		s := string(rs)
		local := "a" + s + "a" // keeps the dot and length rules out of the way
		if got, want := checkLocal(local), checkLocalRunes(local); got != want {
			t.Fatalf("checkLocal(%q) = %q, rune by rune %q", local, got, want)
		}
		if got, want := domainLabelChars(s), labelRunes(s); got != want {
			t.Fatalf("domainLabelChars(%q) = %v, rune by rune %v", s, got, want)
		}
	}
}
