package sim

import (
	"strings"
	"unicode"
)

// maxUserIDLen is Iterable's documented userId limit ("Maximum length of 52
// characters").
const maxUserIDLen = 52

// validEmail approximates Apache Commons EmailValidator, which Iterable uses:
// one "@", a dot-atom (or quoted) local part of at most 64 characters, and a
// domain of dot-separated LDH labels ending in an alphabetic top-level domain
// of two or more letters (Commons checks it against the IANA list, which we
// cannot ship; "alphabetic, ≥ 2" rejects the usual typos such as "user@host"
// or "user@host.c0m"). A bracketed IPv4 literal domain is accepted as Commons
// does. Whitespace and control characters are rejected anywhere.
func validEmail(s string) bool {
	if s == "" || len(s) > 254 || strings.HasSuffix(s, ".") {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	return validLocalPart(local) && validDomain(domain)
}

func validLocalPart(local string) bool {
	if len(local) > 64 {
		return false
	}
	if len(local) >= 2 && local[0] == '"' && local[len(local)-1] == '"' {
		inner := local[1 : len(local)-1]
		for _, r := range inner {
			if r == '"' || unicode.IsControl(r) || r == '\n' {
				return false
			}
		}
		return true
	}
	for atom := range strings.SplitSeq(local, ".") {
		if atom == "" { // leading, trailing or doubled dot
			return false
		}
		for _, r := range atom {
			if unicode.IsSpace(r) || unicode.IsControl(r) || strings.ContainsRune(`()<>@,;:\"[]`, r) {
				return false
			}
		}
	}
	return true
}

func validDomain(domain string) bool {
	if len(domain) > 253 {
		return false
	}
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		return validIPv4(domain[1 : len(domain)-1])
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(isASCIILetter(c) || (c >= '0' && c <= '9') || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if !isASCIILetter(tld[i]) {
			return false
		}
	}
	return true
}

func validIPv4(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 3 {
			return false
		}
		n := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return false
			}
			n = n*10 + int(p[i]-'0')
		}
		if n > 255 {
			return false
		}
	}
	return true
}

func isASCIILetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// normalizeEmail is how Iterable stores an email: lowercased. It does not
// trim: a padded email is invalid, not silently repaired.
func normalizeEmail(s string) string { return strings.ToLower(s) }

// validUserID applies Iterable's documented userId rules: non-empty, at most
// 52 characters, printable ASCII only, no trailing space. userIds are case
// sensitive and stored exactly as sent.
func validUserID(s string) bool {
	if s == "" || len(s) > maxUserIDLen || strings.HasSuffix(s, " ") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
