package state

import (
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestSum64IsTheDigestOfItsParts checks that sum64 gives what a Digest fed
// its three parts gives, on both sides of the length it hashes from the
// stack: fingerprints and keys stored by versions that used a Digest must
// still match, or every user would look changed and every key moved.
func TestSum64IsTheDigestOfItsParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	text := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return string(b)
	}
	for range 20_000 {
		a, b := text(rng.IntN(joinedLimit+8)), text(rng.IntN(joinedLimit+8))
		sep := byte(rng.IntN(256))
		d := xxhash.New()
		_, _ = d.WriteString(a)
		_, _ = d.Write([]byte{sep})
		_, _ = d.WriteString(b)
		want := d.Sum64()
		if got := sum64(a, sep, b); got != want {
			t.Fatalf("sum64 of %d+1+%d bytes (string) = %x, a Digest gives %x", len(a), len(b), got, want)
		}
		if got := sum64(a, sep, []byte(b)); got != want {
			t.Fatalf("sum64 of %d+1+%d bytes ([]byte) = %x, a Digest gives %x", len(a), len(b), got, want)
		}
	}
}
