package cdc

import (
	"math"
	"testing"
)

// Java's Double.toString and Float.toString (JDK 19 and later), which
// Jackson uses to write Connect FLOAT64 and FLOAT32 values.
func TestJavaFloatingText(t *testing.T) {
	doubles := map[float64]string{
		0: "0.0", math.Copysign(0, -1): "-0.0", 1: "1.0", 100: "100.0", 0.1: "0.1",
		0.001: "0.001", 0.002: "0.002", 1e-4: "1.0E-4", -2.5e-5: "-2.5E-5",
		9999999: "9999999.0", 1e7: "1.0E7", 12345678.9: "1.23456789E7",
		123456.789: "123456.789", 1.5e300: "1.5E300", 1e21: "1.0E21",
		math.MaxFloat64: "1.7976931348623157E308", 5e-324: "4.9E-324",
	}
	for f, want := range doubles {
		if got, err := javaDouble(f); err != nil || string(got) != want {
			t.Errorf("javaDouble(%v) = %q, %v; want %q", f, got, err, want)
		}
	}
	floats := map[float32]string{
		0.1: "0.1", 1.1: "1.1", 1e10: "1.0E10", math.MaxFloat32: "3.4028235E38", 174: "174.0",
	}
	for f, want := range floats {
		if got, err := javaFloat(f); err != nil || string(got) != want {
			t.Errorf("javaFloat(%v) = %q, %v; want %q", f, got, err, want)
		}
	}
	for _, f := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		if _, err := javaDouble(f); err == nil {
			t.Errorf("javaDouble(%v): accepted, but JSON has no text for it", f)
		}
	}
}

func TestDecimalText(t *testing.T) {
	cases := []struct {
		b     []byte
		scale int
		want  string
	}{
		{[]byte{0x04, 0xD2}, 2, "12.34"},
		{[]byte{0xFB, 0x2E}, 2, "-12.34"},
		{[]byte{0x05}, 3, "0.005"},
		{[]byte{0xFF}, 1, "-0.1"},
		{nil, 2, "0.00"},
		{[]byte{0x01}, -2, "100"},
		{[]byte{0x00, 0x80}, 0, "128"},
		{[]byte{0x80}, 0, "-128"},
	}
	for _, c := range cases {
		if got, err := decimalText(c.b, c.scale); err != nil || string(got) != c.want {
			t.Errorf("decimalText(%x, %d) = %q, %v; want %q", c.b, c.scale, got, err, c.want)
		}
	}
	if _, err := decimalText([]byte{1}, maxDecimalScale+1); err == nil {
		t.Error("an absurd scale was accepted")
	}
}
