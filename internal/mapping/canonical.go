package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/attrsync/attrsync/internal/jsonappend"
)

// The canonical JSON encoding: one byte sequence per logical value, since
// Attr.JSON is both sent and fingerprinted. Objects have their keys sorted;
// strings escape only what JSON requires (plus U+2028 and U+2029, as
// encoding/json does); numbers are re-encoded by canonicalNumber.

// A number Iterable cannot store in the requested type. The texts name no
// value, so a failure reason may carry them.
var (
	errLongRange   = errors.New("out of range of Iterable's long (int64)")
	errDoubleRange = errors.New("out of range of a double")
)

// rangeNote is the value-free text of a range error, "" for other errors.
func rangeNote(err error) string {
	for _, e := range []error{errLongRange, errDoubleRange} {
		if errors.Is(err, e) {
			return e.Error()
		}
	}
	return ""
}

// appendCanonical encodes v, the JSON model of a decoded row (or a Go
// value of a basic type), canonically.
func appendCanonical(buf []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(buf, "null"...), nil
	case bool:
		return strconv.AppendBool(buf, t), nil
	case string:
		return jsonappend.AppendString(buf, t), nil
	case json.Number:
		return appendNumber(buf, string(t), false)
	case map[string]any:
		return appendObject(buf, t)
	case []any:
		buf = append(buf, '[')
		for i, e := range t {
			if i > 0 {
				buf = append(buf, ',')
			}
			var err error
			if buf, err = appendCanonical(buf, e); err != nil {
				return buf, err
			}
		}
		return append(buf, ']'), nil
	case float64:
		return appendFloat(buf, t)
	case float32:
		return appendFloat(buf, float64(t))
	case int:
		return strconv.AppendInt(buf, int64(t), 10), nil
	case int64:
		return strconv.AppendInt(buf, t, 10), nil
	case int32:
		return strconv.AppendInt(buf, int64(t), 10), nil
	case uint64:
		return strconv.AppendUint(buf, t, 10), nil
	case uint32:
		return strconv.AppendUint(buf, uint64(t), 10), nil
	}
	return buf, fmt.Errorf("unsupported value of Go type %T", v)
}

func appendObject(buf []byte, m map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = jsonappend.AppendString(buf, k)
		buf = append(buf, ':')
		var err error
		if buf, err = appendCanonical(buf, m[k]); err != nil {
			return buf, err
		}
	}
	return append(buf, '}'), nil
}

// isInteger reports whether n, a JSON number, has no fraction or exponent.
func isInteger(n string) bool {
	for i := 0; i < len(n); i++ {
		if c := n[i]; c == '.' || c == 'e' || c == 'E' {
			return false
		}
	}
	return n != ""
}

// appendNumber encodes the JSON number n canonically: an integer as its
// digits ("-0" as "0"), anything with a fraction or exponent as the
// shortest double that round-trips, always with a "." or exponent so that it
// stays a double for Iterable. strict demands what Iterable can store: an
// integer within int64, a finite double. Otherwise a number beyond those
// ranges is passed on as written (its text is valid JSON).
func appendNumber(buf []byte, n string, strict bool) ([]byte, error) {
	if !jsonappend.ValidNumber(n) {
		return buf, fmt.Errorf("%q is not a number", n)
	}
	if isInteger(n) {
		if n == "-0" {
			return append(buf, '0'), nil
		}
		if strict && len(n) >= 19 {
			if _, err := strconv.ParseInt(n, 10, 64); err != nil {
				return buf, fmt.Errorf("%s is %w", n, errLongRange)
			}
		}
		return append(buf, n...), nil
	}
	if plainDecimal(n) {
		return append(buf, n...), nil
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil {
		if strict {
			return buf, fmt.Errorf("%s is %w", n, errDoubleRange)
		}
		return append(buf, n...), nil
	}
	return appendFloat(buf, f)
}

// plainDecimal reports whether n, a JSON number that is not an integer, is
// already the text appendFloat makes of its value, so that parsing and
// formatting it again can be spared (they were a tenth of mapping an
// event). That holds for a decimal without an exponent, with at most 15
// significant digits, no trailing zero in its fraction but the ".0" of a
// whole number, not zero, and at least 1e-6 in size: a double tells apart
// any two decimals of 15 digits, so the shortest text of the one nearest
// to n is n itself, and appendFloat writes such sizes without an exponent
// (numbers below 1e21, which 15 integer digits stay under).
func plainDecimal(n string) bool {
	if n[0] == '-' {
		n = n[1:]
	}
	dot := strings.IndexByte(n, '.')
	if dot < 0 || strings.ContainsAny(n, "eE") {
		return false
	}
	whole, frac := n[:dot], n[dot+1:]
	if frac != "0" && frac[len(frac)-1] == '0' {
		return false
	}
	if whole != "0" {
		digits := len(whole) + len(frac)
		if frac == "0" {
			digits = len(whole)
		}
		return digits <= 15
	}
	zeros := len(frac) - len(strings.TrimLeft(frac, "0"))
	return zeros < len(frac) && zeros <= 5 && len(frac)-zeros <= 15
}

// appendFloat formats a double like encoding/json (plain notation from
// 1e-6 to 1e21, exponent notation outside), with ".0" added to whole
// numbers.
func appendFloat(buf []byte, f float64) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return buf, fmt.Errorf("%v is not a JSON number", f)
	}
	if f == 0 {
		f = 0 // -0 and 0 are one value
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	start := len(buf)
	buf = strconv.AppendFloat(buf, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(buf); n-start >= 4 && buf[n-4] == 'e' && buf[n-3] == '-' && buf[n-2] == '0' {
			buf[n-2] = buf[n-1]
			buf = buf[:n-1]
		}
		return buf, nil
	}
	for _, c := range buf[start:] {
		if c == '.' {
			return buf, nil
		}
	}
	return append(buf, '.', '0'), nil
}
