package mapping

import (
	"github.com/attrsync/attrsync/internal/jsonappend"
	"math"
	"strconv"
	"strings"
	"time"
)

// unit is what a numeric date counts since the Unix epoch.
type unit uint8

const (
	unitMillis unit = iota // the default
	unitSeconds
	unitMicros
	unitNanos
	unitDays
)

var unitNames = map[string]unit{
	"": unitMillis, "ms": unitMillis, "s": unitSeconds, "us": unitMicros, "ns": unitNanos, "days": unitDays,
}

// perSecond is how many of the unit make a second; days are handled apart.
func (u unit) perSecond() int64 {
	switch u {
	case unitSeconds:
		return 1
	case unitMicros:
		return 1e6
	case unitNanos:
		return 1e9
	}
	return 1e3
}

// logicalDate says how a Debezium (or Kafka Connect) logical type encodes a
// date: as a number of some unit, as an ISO-8601 string, or not at all.
type logicalDate uint8

const (
	logicalNone    logicalDate = iota // not a time type: convert by value
	logicalNumber                     // a count of unit since the epoch
	logicalISO                        // an ISO-8601 string
	logicalTimeDay                    // a time of day: no date in it
	logicalYear                       // a year alone
)

func dateEncoding(name string) (logicalDate, unit) {
	switch name {
	case "io.debezium.time.Date", "org.apache.kafka.connect.data.Date":
		return logicalNumber, unitDays
	case "io.debezium.time.Timestamp", "org.apache.kafka.connect.data.Timestamp":
		return logicalNumber, unitMillis
	case "io.debezium.time.MicroTimestamp":
		return logicalNumber, unitMicros
	case "io.debezium.time.NanoTimestamp":
		return logicalNumber, unitNanos
	case "io.debezium.time.ZonedTimestamp", "io.debezium.time.IsoTimestamp", "io.debezium.time.IsoDate":
		return logicalISO, 0
	case "io.debezium.time.Time", "io.debezium.time.MicroTime", "io.debezium.time.NanoTime",
		"io.debezium.time.ZonedTime", "io.debezium.time.IsoTime", "org.apache.kafka.connect.data.Time":
		return logicalTimeDay, 0
	case "io.debezium.time.Year":
		return logicalYear, 0
	}
	return logicalNone, 0
}

// Iterable's date range, in Unix seconds: its format has four year digits,
// so 0000-01-01 00:00:00 to 9999-12-31 23:59:59.
const (
	minDate = -62167219200
	maxDate = 253402300799
)

// dateText converts a string or, when number is set, a JSON number's text
// to Iterable's date format. A logical type of the field decides how to
// read it; without one a string is ISO-8601 (or a number in the
// attribute's unit) and a number counts the attribute's unit.
func (a *attribute) dateText(buf []byte, s string, number bool, logical string) ([]byte, error) {
	enc, u, note := a.dateEncoding(logical)
	var (
		sec int64
		ok  bool
	)
	switch t := strings.TrimSpace(s); {
	case note != "":
	case number:
		if enc != logicalISO {
			sec, ok = epochSeconds(s, u)
		}
	default:
		var tm time.Time
		if tm, ok = parseISO(t); ok {
			sec = tm.Unix()
		} else if enc != logicalISO && jsonappend.ValidNumber(t) {
			sec, ok = epochSeconds(t, u)
		}
	}
	if ok {
		if buf, note = appendDate(buf, sec); note == "" {
			return buf, nil
		}
	}
	return buf, a.cannot(textValue(s, number), note)
}

// toDate is dateText for the Go numbers that formats other than JSON
// decode to.
func (a *attribute) toDate(buf []byte, v any, logical string) ([]byte, error) {
	_, u, note := a.dateEncoding(logical)
	var (
		sec int64
		ok  bool
	)
	switch t := v.(type) {
	case float64:
		sec, ok = epochSeconds(strconv.FormatFloat(t, 'g', -1, 64), u)
	case int64:
		sec, ok = epochSeconds(strconv.FormatInt(t, 10), u)
	case int:
		sec, ok = epochSeconds(strconv.Itoa(t), u)
	}
	if ok && note == "" {
		if buf, note = appendDate(buf, sec); note == "" {
			return buf, nil
		}
	}
	return buf, a.cannot(v, note)
}

// dateEncoding is how the attribute reads a field of the logical type as a
// date. note says why such a field holds no date, "" when it may.
func (a *attribute) dateEncoding(logical string) (enc logicalDate, u unit, note string) {
	enc, u = dateEncoding(logical)
	switch enc {
	case logicalTimeDay:
		note = "a time of day (" + logical + "), not a date"
	case logicalYear:
		note = "a year (" + logical + "), not a date"
	case logicalNone:
		u = a.unit
	}
	return enc, u, note
}

// appendDate appends sec as an Iterable date, or returns buf and why not
// when it falls outside Iterable's range.
func appendDate(buf []byte, sec int64) ([]byte, string) {
	if sec < minDate || sec > maxDate {
		return buf, "outside the years 0000 to 9999"
	}
	return appendIterableDate(buf, time.Unix(sec, 0).UTC()), ""
}

// epochSeconds reads a number of unit u since the epoch and returns whole
// seconds, rounded down (Iterable dates have no fraction).
func epochSeconds(n string, u unit) (int64, bool) {
	if isInteger(n) {
		i, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			return 0, false
		}
		if u == unitDays {
			const limit = 1 << 40 // far beyond year 9999, far from overflow
			if i > limit || i < -limit {
				return 0, false
			}
			return i * 86400, true
		}
		return floorDiv(i, u.perSecond()), true
	}
	f, err := strconv.ParseFloat(n, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	if u == unitDays {
		f *= 86400
	} else {
		f /= float64(u.perSecond())
	}
	f = math.Floor(f)
	if f < math.MinInt64/2 || f > math.MaxInt64/2 {
		return 0, false
	}
	return int64(f), true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// appendIterableDate appends t as "yyyy-MM-dd HH:mm:ss +00:00", quoted.
func appendIterableDate(buf []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	buf = append(buf, '"')
	buf = appendDigits(buf, y, 4)
	buf = append(buf, '-')
	buf = appendDigits(buf, int(mo), 2)
	buf = append(buf, '-')
	buf = appendDigits(buf, d, 2)
	buf = append(buf, ' ')
	buf = appendDigits(buf, h, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, mi, 2)
	buf = append(buf, ':')
	buf = appendDigits(buf, s, 2)
	return append(buf, " +00:00\""...)
}

// appendDigits appends a non-negative n zero-padded to width digits.
func appendDigits(buf []byte, n, width int) []byte {
	var tmp [8]byte
	i := len(tmp)
	for ; width > 0 || n > 0; width-- {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	return append(buf, tmp[i:]...)
}

// parseISO reads the ISO-8601 forms found in databases and Debezium:
//
//	2006-01-02                       (midnight UTC; a trailing Z is allowed)
//	2006-01-02T15:04[:05[.999999999]][zone]
//	2006-01-02 15:04[:05[.999999999]][zone]
//
// where zone is Z, ±hh, ±hhmm or ±hh:mm, optionally after a space. Without
// a zone the time is UTC.
func parseISO(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) {
		return time.Time{}, false
	}
	rest := s[10:]
	var h, mi, sec, nsec int
	if rest != "" && rest != "Z" && rest != "z" {
		if rest[0] != 'T' && rest[0] != 't' && rest[0] != ' ' {
			return time.Time{}, false
		}
		rest = rest[1:]
		var ok bool
		if h, mi, sec, nsec, rest, ok = clock(rest); !ok {
			return time.Time{}, false
		}
	} else {
		rest = ""
	}
	off, ok := zone(rest)
	if !ok {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, time.UTC)
	return t.Add(-time.Duration(off) * time.Second), true
}

// clock reads hh:mm[:ss[.fraction]] and returns the remainder.
func clock(s string) (h, mi, sec, nsec int, rest string, ok bool) {
	if len(s) < 5 || s[2] != ':' {
		return
	}
	var okH, okM bool
	h, okH = digits(s[0:2])
	mi, okM = digits(s[3:5])
	if !okH || !okM || h > 23 || mi > 59 {
		return
	}
	s = s[5:]
	if len(s) >= 3 && s[0] == ':' {
		var okS bool
		if sec, okS = digits(s[1:3]); !okS || sec > 59 {
			return
		}
		s = s[3:]
		if len(s) > 0 && (s[0] == '.' || s[0] == ',') {
			i := 1
			scale := 100_000_000
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				nsec += int(s[i]-'0') * scale
				scale /= 10
				i++
			}
			if i == 1 {
				return
			}
			s = s[i:]
		}
	}
	return h, mi, sec, nsec, s, true
}

// zone reads an empty zone (UTC), Z, or ±hh[[:]mm], optionally after one
// space, and returns its offset in seconds east of UTC.
func zone(s string) (int, bool) {
	if s == "" || s == "Z" || s == "z" {
		return 0, true
	}
	if s[0] == ' ' {
		s = s[1:]
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	h, ok := digits(s[1:3])
	if !ok || h > 23 {
		return 0, false
	}
	s = s[3:]
	if len(s) > 0 && s[0] == ':' {
		s = s[1:]
	}
	m := 0
	switch len(s) {
	case 0:
	case 2:
		if m, ok = digits(s); !ok || m > 59 {
			return 0, false
		}
	default:
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
