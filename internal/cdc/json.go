package cdc

import (
	"encoding/json"
	"math/bits"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/jsonappend"
)

// MaxDepth is how deeply objects and arrays may nest in a message. Debezium
// envelopes with their schema need about 8 levels; the cap keeps a hostile
// or corrupt message from costing unbounded stack and time.
const MaxDepth = 64

// syntaxError is a JSON problem at a byte offset of the message.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return "invalid JSON at byte " + strconv.Itoa(e.off) + ": " + e.msg
}

// reader is a strict, allocation-light JSON reader over a string. Strings
// without escapes and numbers are returned as substrings of s, so decoding a
// row costs one conversion of the message plus the maps and interface boxes
// of the values it keeps; a row read into change.Columns keeps its strings
// and numbers without boxes.
type reader struct {
	s     string
	i     int
	depth int
	// base is where s starts in the message, when only a tail of the
	// message was converted (see Decoder.afterCachedSchema).
	base int
}

func (r *reader) fail(msg string) error { return &syntaxError{off: r.base + r.i, msg: msg} }

func (r *reader) ws() {
	for r.i < len(r.s) {
		switch r.s[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

// peek skips whitespace and returns the next byte, or 0 at the end.
func (r *reader) peek() byte {
	r.ws()
	if r.i < len(r.s) {
		return r.s[r.i]
	}
	return 0
}

func (r *reader) unexpected() error {
	if r.i >= len(r.s) {
		return r.fail("unexpected end of input")
	}
	c := r.s[r.i]
	if c < 0x20 || c >= 0x7f {
		return r.fail("unexpected byte 0x" + strconv.FormatUint(uint64(c), 16))
	}
	return r.fail("unexpected " + strconv.QuoteRune(rune(c)))
}

// end checks that nothing but whitespace follows the top-level value.
func (r *reader) end() error {
	r.ws()
	if r.i != len(r.s) {
		return r.fail("unexpected data after the top-level value")
	}
	return nil
}

func (r *reader) enter() error {
	r.depth++
	if r.depth > MaxDepth {
		return r.tooDeep()
	}
	return nil
}

func (r *reader) tooDeep() error {
	return r.fail("nesting deeper than " + strconv.Itoa(MaxDepth) + " levels")
}

// beginObject consumes '{'.
func (r *reader) beginObject() error {
	if r.peek() != '{' {
		return r.unexpected()
	}
	if err := r.enter(); err != nil {
		return err
	}
	r.i++
	return nil
}

// nextKey reads the next member name of the object being read and the colon
// after it. It reports false once the closing brace has been consumed.
// first says whether this is the first call for the object.
func (r *reader) nextKey(first bool) (string, bool, error) {
	c := r.peek()
	if c == '}' {
		// Either {} or the end after a member's value; {"a":1,} fails
		// below because a name must follow the comma.
		r.i++
		r.depth--
		return "", false, nil
	}
	if !first {
		if c != ',' {
			return "", false, r.unexpected()
		}
		r.i++
		c = r.peek()
	}
	if c != '"' {
		return "", false, r.unexpected()
	}
	key, err := r.str()
	if err != nil {
		return "", false, err
	}
	if r.peek() != ':' {
		return "", false, r.unexpected()
	}
	r.i++
	return key, true, nil
}

// value reads any JSON value: objects become map[string]any, arrays []any,
// numbers json.Number.
func (r *reader) value() (any, error) {
	switch c := r.peek(); c {
	case '{':
		return r.object(nil, 0, nil, false)
	case '[':
		return r.array()
	case '"':
		return r.str()
	case 't':
		return true, r.literal("true")
	case 'f':
		return false, r.literal("false")
	case 'n':
		return nil, r.literal("null")
	default:
		if numberStart(c) {
			n, err := r.number()
			return json.Number(n), err
		}
		return nil, r.unexpected()
	}
}

// object reads an object into a map. When keep is not nil, members whose
// name keep rejects are validated and skipped instead of built. size is
// how many members are expected (0: unknown): a map made to size is never
// grown and rehashed member by member, which a row of more than eight
// fields otherwise is. lay, which may be nil, is the layout the object's
// schema gives it; it must keep what keep keeps. With stop, size is how
// many distinct members keep keeps, and once they are read the rest of the
// object is stepped over for structure only (skipRest).
func (r *reader) object(keep func(string) bool, size int, lay layout, stop bool) (map[string]any, error) {
	m := make(map[string]any, size)
	stopAt := 0
	if stop {
		stopAt = size
	}
	if err := r.members(keep, lay, m, change.Columns{}, stopAt); err != nil {
		return nil, err
	}
	return m, nil
}

// columns reads an object into cols, keeping the members cols names and
// skipping the others, and the rest of the object once every one is read;
// lay is as for object, laid out in cols' order.
func (r *reader) columns(lay layout, cols change.Columns) error {
	return r.members(nil, lay, nil, cols, cols.Len())
}

// members reads the members of an object into m or, when m is nil, into
// cols, which then decides what is kept; keep and lay are as for object.
// Once stopAt distinct members are kept (never when 0), the rest is
// stepped over. A row's unread columns usually come last, and a before image
// read for its email holds a whole row besides: stepping over the rest
// at once costs a fraction of skipping each member by name.
func (r *reader) members(keep func(string) bool, lay layout, m map[string]any, cols change.Columns, stopAt int) error {
	if err := r.beginObject(); err != nil {
		return err
	}
	read := 0 // distinct members kept
	for n, first := 0, true; ; n, first = n+1, false {
		if stopAt > 0 && read == stopAt {
			return r.skipRest()
		}
		var (
			k    string
			col  int
			kept bool
		)
		if n < len(lay) && r.knownKey(first, &lay[n]) {
			f := &lay[n]
			k, col, kept = f.name, f.col, f.kept
		} else {
			var ok bool
			var err error
			k, ok, err = r.nextKey(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			col, kept = -1, keep == nil || keep(k)
			if m == nil {
				col = cols.Index(k)
				kept = col >= 0
			}
		}
		if kept && stopAt > 0 && !holds(m, cols, k, col) {
			read++
		}
		if err := r.member(m, cols, k, col, kept); err != nil {
			return err
		}
	}
}

// holds reports whether member k (column col) was read already.
func holds(m map[string]any, cols change.Columns, k string, col int) bool {
	if m == nil {
		return cols.Filled(col)
	}
	_, ok := m[k]
	return ok
}

// member reads the value of member k into m, or into column col of cols
// when m is nil, or skips it when not kept.
func (r *reader) member(m map[string]any, cols change.Columns, k string, col int, kept bool) error {
	if !kept {
		return r.skipFast()
	}
	if m == nil {
		return r.column(cols, col)
	}
	v, err := r.value()
	if err != nil {
		return err
	}
	m[k] = v
	return nil
}

// column reads a value into column col of cols, keeping a string or a
// number as its text (Columns.SetText) instead of boxing it as value does.
func (r *reader) column(cols change.Columns, col int) error {
	switch c := r.peek(); {
	case c == '"':
		s, err := r.str()
		if err != nil {
			return err
		}
		cols.SetText(col, s, false)
	case numberStart(c):
		n, err := r.number()
		if err != nil {
			return err
		}
		cols.SetText(col, n, true)
	default:
		v, err := r.value()
		if err != nil {
			return err
		}
		cols.Set(col, v)
	}
	return nil
}

func (r *reader) array() ([]any, error) {
	if err := r.enter(); err != nil {
		return nil, err
	}
	r.i++ // '['
	a := []any{}
	if r.peek() == ']' {
		r.i++
		r.depth--
		return a, nil
	}
	for {
		v, err := r.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		switch r.peek() {
		case ',':
			r.i++
		case ']':
			r.i++
			r.depth--
			return a, nil
		default:
			return nil, r.unexpected()
		}
	}
}

// skip validates and steps over one value without building it.
func (r *reader) skip() error {
	switch c := r.peek(); c {
	case '{':
		if err := r.beginObject(); err != nil {
			return err
		}
		for first := true; ; first = false {
			_, ok, err := r.nextKey(first)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			if err := r.skip(); err != nil {
				return err
			}
		}
	case '[':
		if err := r.enter(); err != nil {
			return err
		}
		r.i++
		if r.peek() == ']' {
			r.i++
			r.depth--
			return nil
		}
		for {
			if err := r.skip(); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				r.depth--
				return nil
			default:
				return r.unexpected()
			}
		}
	case '"':
		return r.skipStr()
	case 't':
		return r.literal("true")
	case 'f':
		return r.literal("false")
	case 'n':
		return r.literal("null")
	default:
		if numberStart(c) {
			_, err := r.number()
			return err
		}
		return r.unexpected()
	}
}

// span skips one value and returns where it starts and ends.
func (r *reader) span() (span, error) {
	r.ws()
	start := r.i
	if err := r.skip(); err != nil {
		return span{}, err
	}
	return span{start: start, end: r.i}, nil
}

// spanFast is span for a value that is read again before it is used, or
// never used: its full validation is left to that second reading.
func (r *reader) spanFast() (span, error) {
	r.ws()
	start := r.i
	if err := r.skipFast(); err != nil {
		return span{}, err
	}
	return span{start: start, end: r.i}, nil
}

func (r *reader) literal(lit string) error {
	if len(r.s)-r.i >= len(lit) && r.s[r.i:r.i+len(lit)] == lit {
		r.i += len(lit)
		return nil
	}
	return r.fail("invalid literal, want " + lit)
}

// numberStart reports whether c begins a JSON number.
func numberStart(c byte) bool { return c == '-' || (c >= '0' && c <= '9') }

// number reads a number following the JSON grammar exactly and returns its
// text; no precision is lost because it is never parsed here.
func (r *reader) number() (string, error) {
	start := r.i
	end, problem := jsonappend.ScanNumber(r.s, r.i)
	r.i = end
	if problem != "" {
		return "", r.fail(problem)
	}
	return r.s[start:end], nil
}

// scanStr finds the end of the string starting at r.i (on the opening
// quote). It returns the index of the closing quote and whether an escape
// was seen; it validates UTF-8 and rejects raw control characters.
func (r *reader) scanStr() (int, bool, error) {
	s := r.s
	i := r.i + 1
	escaped := false
	for i < len(s) {
		if i = plainRun(s, i); i >= len(s) {
			break
		}
		c := s[i]
		switch {
		case c == '"':
			return i, escaped, nil
		case c == '\\':
			escaped = true
			i += 2 // the escape is checked by unescape
		case c < 0x20:
			r.i = i
			return 0, false, r.fail("control character in string")
		case c < utf8.RuneSelf:
			i++
		default:
			rn, size := utf8.DecodeRuneInString(s[i:])
			if rn == utf8.RuneError && size == 1 {
				r.i = i
				return 0, false, r.fail("invalid UTF-8 in string")
			}
			i += size
		}
	}
	r.i = len(s)
	return 0, false, r.fail("unterminated string")
}

// plainRun returns the index of the first byte of s from i on that
// scanStr must look at (a quote, a backslash, a control character or a
// byte of a multi-byte UTF-8 sequence), or the start of the last few bytes
// that do not fill a word. Testing eight bytes at once (the bit tricks of
// "Bit Twiddling Hacks") makes a string's plain ASCII cost a fraction of a
// byte-by-byte switch.
func plainRun(s string, i int) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for ; i+8 <= len(s); i += 8 {
		b := s[i : i+8] // one bounds check for the word, one load
		w := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
		quote := w ^ (ones * '"')
		backslash := w ^ (ones * '\\')
		// A byte is zero in quote or backslash, or below 0x20 in w, when
		// subtracting leaves its high bit set where it was clear; bytes of
		// 0x80 and above have theirs set already. A borrow can mark bytes
		// after the first such byte, never before it, so the lowest mark
		// is exact.
		if m := ((quote-ones)&^quote | (backslash-ones)&^backslash | (w-ones*0x20)&^w | w) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	return i
}

func (r *reader) skipStr() error {
	end, escaped, err := r.scanStr()
	if err != nil {
		return err
	}
	if escaped {
		if _, err := r.unescape(r.i+1, end); err != nil {
			return err
		}
	}
	r.i = end + 1
	return nil
}

// str reads a string; without escapes it is a substring of the message.
func (r *reader) str() (string, error) {
	end, escaped, err := r.scanStr()
	if err != nil {
		return "", err
	}
	start := r.i + 1
	r.i = end + 1
	if !escaped {
		return r.s[start:end], nil
	}
	return r.unescape(start, end)
}

// unescape decodes s[start:end], the body of a string holding escapes.
// Unpaired UTF-16 surrogates become U+FFFD, as encoding/json does.
func (r *reader) unescape(start, end int) (string, error) {
	s := r.s
	b := make([]byte, 0, end-start)
	for i := start; i < end; {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= end {
			r.i = i
			return "", r.fail("invalid escape")
		}
		switch s[i+1] {
		case '"', '\\', '/':
			b = append(b, s[i+1])
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			rn, ok := hex4(s, i+2, end)
			if !ok {
				r.i = i
				return "", r.fail("invalid \\u escape")
			}
			i += 6
			if utf16.IsSurrogate(rn) {
				if i+1 < end && s[i] == '\\' && s[i+1] == 'u' {
					lo, _ := hex4(s, i+2, end)
					if dec := utf16.DecodeRune(rn, lo); dec != utf8.RuneError {
						i += 6
						b = utf8.AppendRune(b, dec)
						continue
					}
				}
				rn = utf8.RuneError
			}
			b = utf8.AppendRune(b, rn)
			continue
		default:
			r.i = i
			return "", r.fail("invalid escape")
		}
		i += 2
	}
	return string(b), nil
}

// hex4 decodes four hex digits at s[i:i+4], all before end.
func hex4(s string, i, end int) (rune, bool) {
	if i+4 > end {
		return 0, false
	}
	var n rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		n = n<<4 | rune(c)
	}
	return n, true
}

// span is the location [start, end) of one value in the message; the zero
// span means "absent".
type span struct{ start, end int }

func (p span) present() bool { return p.end > 0 }
