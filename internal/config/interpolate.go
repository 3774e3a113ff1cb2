package config

import (
	"fmt"
	"strings"
)

// lookupEnv finds an environment variable; os.LookupEnv has this shape.
type lookupEnv = func(name string) (value string, ok bool)

// interpolate expands the environment references in one scalar value:
//
//	${NAME}           the value of NAME; a problem if NAME is not set
//	${NAME:-default}  the value of NAME, or default if NAME is unset or empty
//	$$                a literal "$"
//
// Any other "$" is kept as is, so a password such as "pa$word" needs no
// escaping. Substituted text is never expanded again (an environment value
// containing "${X}" stays literal), and default is taken literally too.
//
// Error messages name the variable but never quote the value being expanded,
// because the value may be a secret.
func interpolate(s string, env lookupEnv) (string, []string) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var (
		b    strings.Builder
		errs []string
	)
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 || i == len(s)-1 {
			b.WriteString(s)
			return b.String(), errs
		}
		b.WriteString(s[:i])
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			s = s[i+2:]
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				errs = append(errs, `unterminated "${": write "$$" for a literal "$"`)
				return b.String(), errs
			}
			ref := s[i+2 : i+2+end]
			v, err := expand(ref, env)
			if err != "" {
				errs = append(errs, err)
			}
			b.WriteString(v)
			s = s[i+2+end+1:]
		default:
			b.WriteByte('$')
			s = s[i+1:]
		}
	}
}

// expand resolves the inside of one "${...}".
func expand(ref string, env lookupEnv) (string, string) {
	name, def, hasDefault := strings.Cut(ref, ":-")
	if !validEnvName(name) {
		// The text is not quoted: in a secret field it may be part of the secret.
		return "", `invalid reference: expected ${NAME} or ${NAME:-default}; write "$$" for a literal "$"`
	}
	v, ok := env(name)
	switch {
	case hasDefault && v == "":
		return def, ""
	case !ok:
		return "", fmt.Sprintf("environment variable %s is not set", name)
	default:
		return v, ""
	}
}

// validEnvName accepts POSIX shell variable names.
func validEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// noEnv is the environment used when Parse is given none.
func noEnv(string) (string, bool) { return "", false }
