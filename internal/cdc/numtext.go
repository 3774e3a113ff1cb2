package cdc

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// The binary formats carry numbers as machine values, the JSON format as the
// text Kafka Connect's JsonConverter wrote. A row must not depend on the
// format, so binary numbers are written out as that converter would have
// written them: integers in decimal, floating point numbers the way Java's
// Double.toString and Float.toString spell them (Jackson uses those). The
// difference matters beyond looks: "1.0" stays a double in Iterable where
// "1" would make the field a long.

// javaDouble returns the JSON number text Java writes for a double. NaN and
// the infinities have none, and are refused as JsonConverter's output is:
// Jackson writes them as bare words that are not JSON.
func javaDouble(f float64) (json.Number, error) {
	return javaFloating(f, 64)
}

// javaFloat is javaDouble for a float (Connect FLOAT32): Java prints the
// shortest digits that identify the float, not the double it widens to.
func javaFloat(f float32) (json.Number, error) {
	return javaFloating(float64(f), 32)
}

var errNotFinite = errors.New("not a finite number: JSON has no text for it")

func javaFloating(f float64, bits int) (json.Number, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", errNotFinite
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0", nil
		}
		return "0.0", nil
	}
	// Shortest round-trip digits, as d.ddde±x; Java (since JDK 19) picks
	// the same digits and only lays them out differently, except that it
	// never picks fewer than two: where one digit would do, it takes the
	// two-digit decimal closest to the value (4.9E-324, not 5.0E-324).
	sci := strconv.FormatFloat(f, 'e', -1, bits)
	if m, _, _ := strings.Cut(sci, "e"); len(strings.Trim(m, "-.")) == 1 {
		sci = strconv.FormatFloat(f, 'e', 1, bits)
	}
	neg := sci[0] == '-'
	if neg {
		sci = sci[1:]
	}
	mant, expText, _ := strings.Cut(sci, "e")
	digits := strings.Replace(mant, ".", "", 1)
	if len(digits) > 1 {
		digits = strings.TrimRight(digits, "0") // 1.0e+21: one digit
	}
	exp, _ := strconv.Atoi(expText) // strconv wrote it: always valid
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		// Plain notation with at least one digit after the point.
		switch {
		case exp < 0:
			b.WriteString("0.")
			b.WriteString(strings.Repeat("0", -exp-1))
			b.WriteString(digits)
		case exp+1 >= len(digits):
			b.WriteString(digits)
			b.WriteString(strings.Repeat("0", exp+1-len(digits)))
			b.WriteString(".0")
		default:
			b.WriteString(digits[:exp+1])
			b.WriteByte('.')
			b.WriteString(digits[exp+1:])
		}
		return json.Number(b.String()), nil
	}
	// Computerized scientific notation: 1.0E10, 1.25E-5.
	b.WriteByte(digits[0])
	b.WriteByte('.')
	if len(digits) > 1 {
		b.WriteString(digits[1:])
	} else {
		b.WriteByte('0')
	}
	b.WriteByte('E')
	b.WriteString(strconv.Itoa(exp))
	return json.Number(b.String()), nil
}

// maxDecimalScale bounds the scale of a decimal. A scale comes from the
// schema or, for Debezium's VariableScaleDecimal, from the message itself;
// an absurd one would make the text of the number absurdly long.
const maxDecimalScale = 1000

// decimalText returns the exact decimal number whose unscaled value is the
// big-endian two's-complement integer in b (Kafka Connect's Decimal, Avro's
// decimal, Confluent's Protobuf Decimal) and whose scale is scale.
func decimalText(b []byte, scale int) (json.Number, error) {
	if scale > maxDecimalScale || scale < -maxDecimalScale {
		return "", errors.New("decimal scale out of range")
	}
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		// Negative: subtract 2^(8·len).
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	s := n.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	switch {
	case scale < 0:
		if s != "0" {
			s += strings.Repeat("0", -scale)
		}
	case scale > 0:
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return json.Number(s), nil
}
