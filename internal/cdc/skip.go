package cdc

import "strings"

// skipFast steps over one value that attrsync will never read (the before
// image of an update, source metadata, unmapped columns). Scalars are
// checked as strictly as anywhere else; objects and arrays only for
// structure: strings terminated, brackets balanced and matched, nesting
// within MaxDepth. Full validation of bytes nobody reads would cost more
// than the rest of decoding, and a message is otherwise produced by one
// well-behaved serializer; what is read is always validated in full.
func (r *reader) skipFast() error {
	c := r.peek()
	if c != '{' && c != '[' {
		return r.skip()
	}
	return r.scanOut(r.depth, 0)
}

// skipRest steps over the rest of the object being read, through its
// closing brace, checking it as skipFast checks what it skips: for when
// what is wanted of an object is read before its end (the source block's
// ts_ms, the fields a sync reads of a row).
func (r *reader) skipRest() error {
	return r.scanOut(r.depth-1, 1)
}

// scanOut moves r past the bytes that close the containers open above
// depth base. stack holds one bit per open container below depth 64
// relative to base: 1 for an object, 0 for an array.
func (r *reader) scanOut(base int, stack uint64) error {
	s := r.s
	i := r.i
	for i < len(s) {
		switch s[i] {
		case '"':
			end, ok := stringEnd(s, i+1)
			if !ok {
				r.i = len(s)
				return r.fail("unterminated string")
			}
			i = end + 1
			continue
		case '{', '[':
			r.depth++
			if r.depth > MaxDepth {
				r.i = i
				return r.tooDeep()
			}
			stack <<= 1
			if s[i] == '{' {
				stack |= 1
			}
		case '}', ']':
			if (s[i] == '}') != (stack&1 == 1) {
				r.i = i
				return r.unexpected()
			}
			stack >>= 1
			r.depth--
			if r.depth == base {
				r.i = i + 1
				return nil
			}
		}
		i++
	}
	r.i = len(s)
	return r.fail("unexpected end of input")
}

// stringEnd finds the closing quote of a string whose body starts at i.
func stringEnd(s string, i int) (int, bool) {
	for {
		q := strings.IndexByte(s[i:], '"')
		if q < 0 {
			return 0, false
		}
		q += i
		// The quote is escaped when an odd number of backslashes precede it.
		b := q
		for b > i && s[b-1] == '\\' {
			b--
		}
		if (q-b)%2 == 0 {
			return q, true
		}
		i = q + 1
	}
}
