package cdc

import (
	"math/rand/v2"
	"testing"
)

// plainRunByBytes is plainRun written the obvious way, a byte at a time.
func plainRunByBytes(s string, i int) int {
	for ; i+8 <= len(s); i += 8 {
		for j := i; j < i+8; j++ {
			if c := s[j]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
				return j
			}
		}
	}
	return i
}

// TestPlainRunStopsAtEveryByteScanStrReads: whatever byte sits at whatever
// place of a word, and whatever other such byte follows it, plainRun stops
// exactly where the byte-by-byte scan does, so scanStr never steps over a
// quote, an escape, a control character or invalid UTF-8.
func TestPlainRunStopsAtEveryByteScanStrReads(t *testing.T) {
	plain := []byte("abcdefghijklmnopqrstuvwx") // 24 bytes: three words
	for b := range 256 {
		for at := range len(plain) {
			for start := range 9 {
				s := append([]byte(nil), plain...)
				s[at] = byte(b)
				if got, want := plainRun(string(s), start), plainRunByBytes(string(s), start); got != want {
					t.Fatalf("byte %#x at %d, from %d: plainRun = %d, want %d", b, at, start, got, want)
				}
			}
		}
	}
	// Two such bytes in one word: a borrow from the first must not hide
	// it behind a mark on the second.
	rng := rand.New(rand.NewPCG(1, 2))
	specials := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0xc3, 0xff, '!', '#', '[', ']'}
	for range 100_000 {
		s := append([]byte(nil), plain[:8+rng.IntN(17)]...)
		for range 1 + rng.IntN(3) {
			s[rng.IntN(len(s))] = specials[rng.IntN(len(specials))]
		}
		start := rng.IntN(len(s))
		if got, want := plainRun(string(s), start), plainRunByBytes(string(s), start); got != want {
			t.Fatalf("%q from %d: plainRun = %d, want %d", s, start, got, want)
		}
	}
}
