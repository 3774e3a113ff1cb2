package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Problem is one thing wrong with a config file.
type Problem struct {
	// Path locates the value in the document, e.g. "iterable.attributes[2].to".
	// It is empty for problems with the file as a whole (YAML syntax).
	Path string
	// Message says what is wrong. It never contains a secret.
	Message string
}

// String renders the problem as "path: message".
func (p Problem) String() string {
	if p.Path == "" {
		return p.Message
	}
	return p.Path + ": " + p.Message
}

// ValidationError is returned by Load and Parse when a config is refused. It
// lists every problem found, not just the first, so one edit-and-retry round
// fixes them all. Match it with errors.As and a *ValidationError target.
type ValidationError struct {
	Problems []Problem
}

// Error lists every problem, one per line.
func (e *ValidationError) Error() string {
	var b strings.Builder
	switch len(e.Problems) {
	case 1:
		b.WriteString("invalid config (1 problem):")
	default:
		fmt.Fprintf(&b, "invalid config (%d problems):", len(e.Problems))
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// problems collects Problems during one Parse call, remembering the line of
// each path so the final list can follow the order of the document.
type problems struct {
	list  []Problem
	lines map[string]int // path -> line of the node, from the YAML tree
}

func newProblems() *problems {
	return &problems{lines: map[string]int{}}
}

func (ps *problems) add(path, format string, args ...any) {
	ps.list = append(ps.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

// has reports whether a problem is already recorded for exactly this path;
// semantic checks skip such paths so one mistake is not reported twice.
func (ps *problems) has(path string) bool {
	return slices.ContainsFunc(ps.list, func(p Problem) bool { return p.Path == path })
}

// line returns the line of path or, for a path absent from the document (a
// missing key, a default), of its nearest ancestor that is present.
func (ps *problems) line(path string) int {
	for path != "" {
		if l, ok := ps.lines[path]; ok {
			return l
		}
		path = parentPath(path)
	}
	return 0
}

// err returns nil when nothing was found, else the sorted *ValidationError
// with every secret scrubbed from it.
func (ps *problems) err(secrets []string) error {
	if len(ps.list) == 0 {
		return nil
	}
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Compare(ps.line(a.Path), ps.line(b.Path))
	})
	for i := range out {
		out[i].Path = scrub(out[i].Path, secrets)
		out[i].Message = scrub(out[i].Message, secrets)
	}
	return &ValidationError{Problems: out}
}

// minScrubLen keeps very short "secrets" (a placeholder like "x") from
// mangling every message they happen to occur in. Messages are built never to
// quote a secret in the first place; scrubbing is the second line of defence.
const minScrubLen = 4

func scrub(s string, secrets []string) string {
	for _, secret := range secrets {
		if len(secret) >= minScrubLen {
			s = strings.ReplaceAll(s, secret, redactedMark)
		}
	}
	return s
}

// childPath and indexPath build paths in the form used by every message:
// "iterable.attributes[2].to".
func childPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func indexPath(parent string, i int) string {
	return fmt.Sprintf("%s[%d]", parent, i)
}

// parentPath strips the last ".key" or "[i]" from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
