package mapping

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/attrsync/attrsync/internal/change"
)

// Iterable's identifier limits (reference §5.4).
const (
	maxEmailLen  = 254
	maxLocalLen  = 64
	maxDomainLen = 253
	maxLabelLen  = 63
	maxUserIDLen = 52
)

// identifier reads and normalises the user identifier of a row.
type identifier struct {
	kind change.IDKind
	from string
	path path
}

func newIdentifier(c Identifier) (identifier, error) {
	id := identifier{from: c.Source}
	switch c.As {
	case AsEmail:
		id.kind = change.Email
	case AsUserID:
		id.kind = change.UserID
	default:
		return id, fmt.Errorf("iterable.identifier.as: %q is not email or userId", c.As)
	}
	p, err := parsePath(c.Source)
	if err != nil {
		return id, fmt.Errorf("iterable.identifier.source: %w", err)
	}
	id.path = p
	return id, nil
}

func (id *identifier) fail(format string, args ...any) error {
	return change.Fail(change.ClassIdentifier, "%s (from %s): %s",
		id.kind, id.from, fmt.Sprintf(format, args...))
}

// idCol is the index of the identifier's top-level field in SourceFields
// and in the fields WithBefore is given: it is the first of both.
const idCol = 0

// read finds, normalises and validates the identifier in a row, or in its
// before image when before is set. Reasons name the problem, never the
// value.
func (id *identifier) read(row *change.Row, before bool, unavailable *placeholder) (change.Identifier, error) {
	x, present, err := id.path.read(row, before, idCol, unavailable)
	switch {
	case err != nil:
		return change.Identifier{}, id.fail("%v", err)
	case !present:
		return change.Identifier{}, id.fail("missing")
	case x.null():
		return change.Identifier{}, id.fail("null")
	case !x.text:
		return change.Identifier{}, id.fail("%s, not a string", kindOf(x.v))
	}
	return id.parse(x.s, x.number)
}

// parse normalises and validates an identifier read as a string or, when
// number is set, as a JSON number's text.
func (id *identifier) parse(s string, number bool) (change.Identifier, error) {
	if id.kind == change.Email {
		if number {
			return change.Identifier{}, id.fail("a number, not a string")
		}
		email, reason := normaliseEmail(s)
		if reason != "" {
			return change.Identifier{}, id.fail("invalid email (%s)", reason)
		}
		return change.Identifier{Kind: change.Email, Value: email}, nil
	}
	// Numeric primary keys are the usual userId; their decimal text is
	// what every other system calls the user.
	if number && !isInteger(s) {
		return change.Identifier{}, id.fail("a number with a fraction or exponent, not an integer")
	}
	if reason := checkUserID(s); reason != "" {
		return change.Identifier{}, id.fail("invalid userId (%s)", reason)
	}
	// Clone: the row's strings share one buffer with the whole message,
	// and the identifier outlives it in batches and state.
	return change.Identifier{Kind: change.UserID, Value: strings.Clone(s)}, nil
}

// unchanged reports whether the row's before image holds the very string
// its identifier field holds: the identifier is then the one already read,
// and the before image need not be normalised and validated again, which
// for an email is most of what reading it costs.
func (id *identifier) unchanged(row *change.Row, unavailable *placeholder) bool {
	now, present, err := id.path.read(row, false, idCol, unavailable)
	if err != nil || !present {
		return false
	}
	was, present, err := id.path.read(row, true, idCol, unavailable)
	if err != nil || !present {
		return false
	}
	return now.text && was.text && !now.number && !was.number && now.s == was.s
}

// checkUserID applies Iterable's userId rules and returns why s breaks
// them, or "".
func checkUserID(s string) string {
	switch {
	case s == "":
		return "empty"
	case len(s) > maxUserIDLen:
		return fmt.Sprintf("longer than %d characters", maxUserIDLen)
	case s[len(s)-1] == ' ':
		return "trailing space"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return fmt.Sprintf("non-ASCII or non-printable character at position %d", i+1)
		}
	}
	return ""
}

// normaliseEmail trims and lowercases an email, as Iterable stores it, and
// checks it. It returns the email, or a reason it is invalid.
func normaliseEmail(raw string) (string, string) {
	t := strings.TrimSpace(raw)
	if !utf8.ValidString(t) {
		// Checked first: ToLower would turn bad bytes into U+FFFD.
		return "", "invalid UTF-8"
	}
	s := strings.ToLower(t)
	if reason := checkEmail(s); reason != "" {
		return "", reason
	}
	if s == t {
		// ToLower had nothing to change and returned the row's own
		// string: clone it, see identifier.read.
		s = strings.Clone(s)
	}
	return s, ""
}

// checkEmail approximates Apache Commons EmailValidator (see the package
// documentation) and returns why s is invalid, or "".
func checkEmail(s string) string {
	if len(s) > maxEmailLen {
		return fmt.Sprintf("longer than %d characters", maxEmailLen)
	}
	at := strings.IndexByte(s, '@')
	if at < 0 {
		return "no @"
	}
	local, domain := s[:at], s[at+1:]
	if strings.IndexByte(domain, '@') >= 0 {
		return "more than one @"
	}
	if reason := checkLocal(local); reason != "" {
		return reason
	}
	return checkDomain(domain)
}

func checkLocal(local string) string {
	switch {
	case local == "":
		return "empty local part"
	case len(local) > maxLocalLen:
		return fmt.Sprintf("local part longer than %d characters", maxLocalLen)
	case local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, ".."):
		return "misplaced dot in local part"
	}
	// ASCII, nearly every address, is checked a byte at a time; from the
	// first other byte on, rune by rune. Both apply the same tests in the
	// same order.
	for i := 0; i < len(local); i++ {
		c := local[i]
		if c >= utf8.RuneSelf {
			return checkLocalRunes(local[i:])
		}
		switch {
		case c <= ' ' || c == 0x7f: // unicode.IsSpace or IsControl, for ASCII
			return "space or control character in local part"
		case localSpecial(c):
			return fmt.Sprintf("%q not allowed in local part", rune(c))
		}
	}
	return ""
}

// localSpecials are the characters a local part may not hold.
const localSpecials = `()<>,;:\"[]`

// localSpecial reports whether the ASCII byte c is one of localSpecials.
// It is a switch rather than a search of the string because it runs for
// each byte of every email (the search took about an eighth of reading
// one); TestLocalSpecial keeps the two the same.
func localSpecial(c byte) bool {
	switch c {
	case '(', ')', '<', '>', ',', ';', ':', '\\', '"', '[', ']':
		return true
	}
	return false
}

// checkLocalRunes is checkLocal's test of each character, rune by rune.
func checkLocalRunes(local string) string {
	for _, r := range local {
		switch {
		case unicode.IsSpace(r) || unicode.IsControl(r):
			return "space or control character in local part"
		case strings.ContainsRune(localSpecials, r):
			return fmt.Sprintf("%q not allowed in local part", r)
		}
	}
	return ""
}

func checkDomain(domain string) string {
	switch {
	case domain == "":
		return "empty domain"
	case len(domain) > maxDomainLen:
		return fmt.Sprintf("domain longer than %d characters", maxDomainLen)
	}
	if strings.IndexByte(domain, '.') < 0 {
		return "domain has no dot"
	}
	// The labels are walked in place: splitting would allocate for every
	// message.
	var tld string
	for rest := domain; ; {
		l, after, more := strings.Cut(rest, ".")
		switch {
		case l == "":
			return "empty domain label"
		case len(l) > maxLabelLen:
			return fmt.Sprintf("domain label longer than %d characters", maxLabelLen)
		case l[0] == '-' || l[len(l)-1] == '-':
			return "domain label starts or ends with a hyphen"
		}
		if !domainLabelChars(l) {
			return "invalid character in domain"
		}
		if !more {
			tld = l
			break
		}
		rest = after
	}
	if !validTLD(tld) {
		return "invalid top-level domain"
	}
	return ""
}

// domainLabelChars reports whether a label holds only letters, digits and
// hyphens; ASCII bytes are told without a Unicode table.
func domainLabelChars(l string) bool {
	for i := 0; i < len(l); i++ {
		c := l[i]
		if c >= utf8.RuneSelf {
			for _, r := range l[i:] {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' {
					return false
				}
			}
			return true
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// validTLD stands in for Commons' list of IANA top-level domains: at least
// two letters, or an IDN in punycode.
func validTLD(tld string) bool {
	if strings.HasPrefix(tld, "xn--") && len(tld) > 4 {
		return true
	}
	if utf8.RuneCountInString(tld) < 2 {
		return false
	}
	for _, r := range tld {
		if !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}
