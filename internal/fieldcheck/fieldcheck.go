// Package fieldcheck compares the types of a sync's mapped attributes with
// the types Iterable fixed for those fields in the project (users/getFields),
// before anything is sent: Iterable refuses a whole bulkUpdate whose values
// do not fit a field's type (RequestFieldsTypesMismatched), and a field's
// type can never change.
//
// A conflict is certain when no value the attribute can produce fits the
// field (a number attribute for a string field); it is a warning when some
// values may not fit (type auto, whose values are as the row has them; a
// number for a long field, which refuses fractions). `attrsync validate
// --connect` reports both; `run` refuses to start on a conflict unless
// iterable.allow_type_conflicts is true.
package fieldcheck

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/iterable"
)

// Severity says how sure a finding is.
type Severity int

const (
	// Warning: some values of the attribute may not fit the field.
	Warning Severity = iota + 1
	// Conflict: no value of the attribute fits the field.
	Conflict
)

// String names the severity.
func (s Severity) String() string {
	if s == Conflict {
		return "conflict"
	}
	return "warning"
}

// Finding is one mapped attribute whose values may not fit its field.
type Finding struct {
	// Field is the Iterable field (the attribute's "to").
	Field string
	// Declared is the attribute's type: auto, string, number, boolean, date
	// or object.
	Declared string
	// Project is the field's type in the project as getFields reports it,
	// "" when the field does not exist.
	Project  string
	Severity Severity
	// Reason says what Iterable will do with the values.
	Reason string
}

// String describes the finding with the field and both types; it holds no
// user data.
func (f Finding) String() string {
	if f.Project == "" {
		return fmt.Sprintf("%s (type %s): not a field of the project: %s", f.Field, f.Declared, f.Reason)
	}
	return fmt.Sprintf("%s: attribute type %s, Iterable field type %s: %s", f.Field, f.Declared, f.Project, f.Reason)
}

// Report is the outcome of a check.
type Report struct {
	// Findings, conflicts first, then by field.
	Findings []Finding
	// Attributes and ProjectFields count what was compared.
	Attributes, ProjectFields int
}

// Conflicts returns the certain findings.
func (r Report) Conflicts() []Finding { return r.of(Conflict) }

// Warnings returns the uncertain findings.
func (r Report) Warnings() []Finding { return r.of(Warning) }

func (r Report) of(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// Err is a *ConflictError naming every conflict, or nil when there is none
// or allow (iterable.allow_type_conflicts) says to go ahead anyway.
func (r Report) Err(allow bool) error {
	c := r.Conflicts()
	if len(c) == 0 || allow {
		return nil
	}
	return &ConflictError{Conflicts: c}
}

// ConflictError refuses a mapping whose attributes cannot fit the project.
type ConflictError struct {
	Conflicts []Finding
}

// Error lists the conflicts.
func (e *ConflictError) Error() string {
	parts := make([]string, len(e.Conflicts))
	for i, f := range e.Conflicts {
		parts[i] = f.String()
	}
	return "fieldcheck: mapped attributes conflict with the project's field types (set iterable.allow_type_conflicts to sync anyway): " +
		strings.Join(parts, "; ")
}

// FieldLister reads the project's field types (*iterable.Client).
type FieldLister interface {
	UserFields(ctx context.Context) (map[string]string, error)
}

// Check reads the project's field types and compares the mapping's. A
// transient failure of the read is retried for up to half a minute:
// getFields allows 3 requests a second per project, shared with every other
// tool, so a 429 at start is not unlikely.
func Check(ctx context.Context, api FieldLister, cfg config.Iterable) (Report, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxElapsedTime = 400*time.Millisecond, 30*time.Second
	var fields map[string]string
	err := backoff.Retry(func() error {
		var err error
		fields, err = api.UserFields(ctx)
		if err != nil && !iterable.IsTransient(err) {
			return backoff.Permanent(err)
		}
		return err
	}, backoff.WithContext(b, ctx))
	if err != nil {
		return Report{}, fmt.Errorf("fieldcheck: read the project's fields: %w", err)
	}
	return Compare(cfg, fields), nil
}

// Compare compares each mapped attribute's type with the type fields (from
// getFields) gives its target.
func Compare(cfg config.Iterable, fields map[string]string) Report {
	r := Report{Attributes: len(cfg.Attributes), ProjectFields: len(fields)}
	for _, a := range cfg.Attributes {
		declared := string(a.Type)
		if declared == "" {
			declared = "auto"
		}
		project, exists := fields[a.To]
		if !exists {
			if !cfg.CreateNewFields {
				r.Findings = append(r.Findings, Finding{Field: a.To, Declared: declared, Severity: Warning,
					Reason: "iterable.create_new_fields is false, so Iterable drops it (filteredOutFields)"})
			}
			continue
		}
		if sev, reason := judge(declared, strings.ToLower(project)); sev != 0 {
			r.Findings = append(r.Findings, Finding{Field: a.To, Declared: declared, Project: project, Severity: sev, Reason: reason})
		}
	}
	slices.SortStableFunc(r.Findings, func(a, b Finding) int {
		if a.Severity != b.Severity {
			return int(b.Severity - a.Severity)
		}
		return strings.Compare(a.Field, b.Field)
	})
	return r
}

// judge rates an attribute type against a field type; 0 means they fit.
// Iterable types arrays by their elements, so an object attribute (which
// may hold arrays) only warns against other types.
func judge(declared, project string) (Severity, string) {
	known := slices.Contains([]string{"string", "long", "double", "boolean", "date", "object"}, project)
	switch {
	case declared == "auto":
		return Warning, "type auto sends values as the row has them; one of another type makes Iterable refuse the request. Declare type: " +
			suggest(project) + " so attrsync converts them, and dead-letters what cannot be"
	case !known:
		return Warning, "attrsync does not know this Iterable type; check the values fit"
	}
	switch declared + "→" + project {
	case "string→string", "number→double", "boolean→boolean", "date→date", "object→object":
		return 0, ""
	case "string→date":
		return Warning, "Iterable accepts only strings that read as dates"
	case "number→long":
		return Warning, "Iterable refuses numbers with a fraction"
	case "date→string":
		return Warning, "Iterable keeps the dates as text: date filters and comparisons will not work on them"
	}
	if declared == "object" {
		return Warning, "an array of " + project + " values fits, an object does not"
	}
	return Conflict, "Iterable refuses every value of type " + declared + " for it"
}

// suggest is the attribute type that fits an Iterable type.
func suggest(project string) string {
	switch project {
	case "long", "double":
		return "number"
	case "string", "boolean", "date", "object":
		return project
	}
	return "<the matching type>"
}
