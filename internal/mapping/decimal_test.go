package mapping

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// TestPlainDecimalsKeepTheirText checks the shortcut appendNumber takes for
// decimals already in canonical form against the long way, parsing and
// formatting the double: both must give the same bytes for every number,
// or the same value would be fingerprinted and sent two ways.
func TestPlainDecimalsKeepTheirText(t *testing.T) {
	cases := []string{
		"0.5", "-0.5", "12.0", "-12.0", "12.5", "12.50", "12.00", "0.0", "-0.0", "0.000001",
		"0.0000001", "0.0000015", "0.1000000", "123456789012345.0", "1234567890123456.0",
		"123456789012.345", "1234567890123.456", "0.123456789012345", "0.1234567890123456",
		"0.30000000000000004", "9007199254740993.0", "1.5e3", "1.0E-7", "100000000000000000000000.5",
		"99999999999999.99", "999999999999999.9", "0.000009999999999999999",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	digits := func(n int, lead bool) string {
		var b strings.Builder
		for i := range n {
			d := byte('0' + rng.IntN(10))
			if i == 0 && !lead && d == '0' {
				d = '1'
			}
			if rng.IntN(4) == 0 { // runs of zeros, where the edge cases are
				d = '0'
				if i == 0 && !lead {
					d = '9'
				}
			}
			b.WriteByte(d)
		}
		return b.String()
	}
	for range 300_000 {
		n := ""
		if rng.IntN(3) == 0 {
			n = "-"
		}
		if rng.IntN(3) == 0 {
			n += "0"
		} else {
			n += digits(1+rng.IntN(22), false)
		}
		n += "." + digits(1+rng.IntN(20), true)
		if rng.IntN(20) == 0 {
			n += "e" + strconv.Itoa(rng.IntN(40)-20)
		}
		cases = append(cases, n)
	}
	shortcuts := 0
	for _, n := range cases {
		got, gotErr := appendNumber(nil, n, true)
		f, err := strconv.ParseFloat(n, 64)
		if err != nil {
			if gotErr == nil {
				t.Errorf("%s: %s, want an error (%v)", n, got, err)
			}
			continue
		}
		want, wantErr := appendFloat(nil, f)
		if string(got) != string(want) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("%s: %s (%v), parsed and formatted %s (%v)", n, got, gotErr, want, wantErr)
		}
		if plainDecimal(n) {
			shortcuts++
		}
	}
	if shortcuts < len(cases)/10 {
		t.Errorf("only %d of %d numbers took the shortcut", shortcuts, len(cases))
	}
}
