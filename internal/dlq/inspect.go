package dlq

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// Summary describes the records of a dead-letter topic for an operator:
// how many failed, why, and when, with a few examples whose identifiers
// are masked.
type Summary struct {
	Total    int
	ByClass  map[change.Class]int
	ByReason map[string]int
	// Oldest and Newest are the earliest and latest failed_at headers.
	Oldest, Newest time.Time
	Samples        []Sample
	maxSamples     int
}

// Sample is one dead letter as inspect shows it.
type Sample struct {
	Pos      change.Position // where the message first came from
	Class    change.Class
	Reason   string // masked
	Key      string // masked
	FailedAt time.Time
}

// NewSummary returns an empty summary keeping up to maxSamples samples.
func NewSummary(maxSamples int) *Summary {
	return &Summary{ByClass: map[change.Class]int{}, ByReason: map[string]int{}, maxSamples: maxSamples}
}

// Add counts one dead-letter record.
func (s *Summary) Add(m change.Message) {
	f, ok := Failure(m)
	if !ok {
		f = change.Failure{Class: "unknown", Reason: "no failure headers"}
	}
	s.Total++
	s.ByClass[f.Class]++
	reason := Mask(f.Reason)
	s.ByReason[reason]++
	var at time.Time
	if v, ok := m.Header(HeaderFailedAt); ok {
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			at = t
			if s.Oldest.IsZero() || t.Before(s.Oldest) {
				s.Oldest = t
			}
			if t.After(s.Newest) {
				s.Newest = t
			}
		}
	}
	if len(s.Samples) < s.maxSamples {
		s.Samples = append(s.Samples, Sample{Pos: OriginalPosition(m), Class: f.Class, Reason: reason, Key: Mask(string(m.Key)), FailedAt: at})
	}
}

// maxReasons is how many distinct reasons Write lists.
const maxReasons = 10

// Write prints the summary as text.
func (s *Summary) Write(w io.Writer) error {
	p := &printer{w: w}
	p.printf("dead letters: %d\n", s.Total)
	if s.Total == 0 {
		return p.err
	}
	p.printf("oldest: %s\nnewest: %s\n", stamp(s.Oldest), stamp(s.Newest))
	p.printf("\nby class:\n")
	for _, c := range sortedByCount(s.ByClass) {
		p.printf("  %-20s %d\n", c, s.ByClass[c])
	}
	p.printf("\nby reason:\n")
	reasons := sortedByCount(s.ByReason)
	for _, r := range reasons[:min(len(reasons), maxReasons)] {
		p.printf("  %6d  %s\n", s.ByReason[r], r)
	}
	if len(reasons) > maxReasons {
		p.printf("  ... %d more reasons\n", len(reasons)-maxReasons)
	}
	if len(s.Samples) > 0 {
		p.printf("\nsamples:\n")
		for _, sm := range s.Samples {
			p.printf("  %s  %s  key=%s  failed_at=%s\n    %s\n", sm.Pos, sm.Class, sm.Key, stamp(sm.FailedAt), sm.Reason)
		}
	}
	return p.err
}

// emailLike matches any word holding an @: valid addresses and the invalid
// ones identifier failures quote.
var emailLike = regexp.MustCompile(`[^\s"'<>(),;:]*@[^\s"'<>(),;:]*`)

// Mask hides email addresses in s, keeping the first character of the
// local part and the top-level domain, so records can be told apart
// without exposing who they are about.
func Mask(s string) string {
	return emailLike.ReplaceAllStringFunc(s, func(email string) string {
		first := ""
		if r := []rune(email); r[0] != '@' {
			first = string(r[0])
		}
		_, domain, _ := cutLast(email, "@")
		tld := ""
		if _, t, ok := cutLast(domain, "."); ok {
			tld = "." + t
		}
		return first + "***@***" + tld
	})
}

func cutLast(s, sep string) (before, after string, found bool) {
	for i := len(s) - len(sep); i >= 0; i-- {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

func sortedByCount[K cmp.Ordered](m map[K]int) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, b K) int {
		if c := cmp.Compare(m[b], m[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return keys
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// printer keeps the first write error, so Write checks once.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
