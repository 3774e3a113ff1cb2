package config

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/attrsync/attrsync/schemas"
)

// schemaFile is the name of the config schema inside schemas.FS.
const schemaFile = "config.schema.json"

// schemaURL is the schema's $id; the compiler resolves "#/$defs/..." against it.
const schemaURL = "https://github.com/attrsync/attrsync/schemas/config.schema.json"

// Patterns of the schema that get a human message instead of the regex.
const (
	durationPattern = `^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|μs|ms|s|m|h))+)$`
	namePattern     = `^[A-Za-z0-9._-]+$`
	topicPattern    = `^[A-Za-z0-9._-]*$`
)

// compileSchema compiles the embedded config schema, checking it against the
// JSON Schema 2020-12 meta-schema on the way. It is compiled per call rather
// than cached in a package variable: a config is parsed once per process.
func compileSchema() (*jsonschema.Schema, error) {
	data, err := schemas.FS.ReadFile(schemaFile)
	if err != nil {
		return nil, fmt.Errorf("config schema: %w", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("config schema %s: %w", schemaFile, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("config schema %s: %w", schemaFile, err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, fmt.Errorf("config schema %s: %w", schemaFile, err)
	}
	return sch, nil
}

// validateSchema checks inst against the schema and turns every failed
// keyword into a Problem. Messages are written here rather than taken from the
// validator, whose texts quote the offending value (a secret, perhaps) and
// speak JSON Pointer rather than the config's own paths.
func validateSchema(sch *jsonschema.Schema, inst any, hints map[string]string, ps *problems) error {
	err := sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("config schema: %w", err)
	}
	for _, leaf := range leaves(ve, nil) {
		path := instancePath(inst, leaf.InstanceLocation)
		if ps.has(path) {
			// Interpolation already said why (an unset variable left the
			// value empty); "empty" on top would be the same mistake twice.
			continue
		}
		describe(leaf.ErrorKind, path, hints, ps)
	}
	return nil
}

// leaves flattens the validator's error tree to the errors that name a
// keyword; the inner nodes only group them.
func leaves(e *jsonschema.ValidationError, out []*jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return append(out, e)
	}
	for _, c := range e.Causes {
		out = leaves(c, out)
	}
	return out
}

// instancePath renders a JSON Pointer location as a config path, telling
// list indexes from keys by looking at the instance.
func instancePath(inst any, loc []string) string {
	path := ""
	cur := inst
	for _, tok := range loc {
		switch v := cur.(type) {
		case []any:
			i, _ := strconv.Atoi(tok)
			path = indexPath(path, i)
			if i >= 0 && i < len(v) {
				cur = v[i]
			}
		case map[string]any:
			path = childPath(path, tok)
			cur = v[tok]
		default:
			path = childPath(path, tok)
		}
	}
	return path
}

// describe adds the Problem(s) for one failed keyword at path.
func describe(k jsonschema.ErrorKind, path string, hints map[string]string, ps *problems) {
	secret := isSecretPath(path)
	switch k := k.(type) {
	case *kind.Required:
		for _, m := range k.Missing {
			ps.add(childPath(path, m), "required")
		}
	case *kind.AdditionalProperties:
		for _, name := range k.Properties {
			p := childPath(path, name)
			msg := fmt.Sprintf("unknown key (line %d)", ps.line(p))
			if h := hints[p]; h != "" {
				msg += "; " + h
			}
			ps.add(p, "%s", msg)
		}
	case *kind.Type:
		ps.add(path, "must be %s, got %s", wantTypes(k.Want), typeName(k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = fmt.Sprint(w)
			if want[i] == "" {
				want[i] = `""`
			}
		}
		msg := "must be one of " + strings.Join(want, ", ")
		if s, ok := k.Got.(string); ok && !secret {
			msg += fmt.Sprintf(", got %q", s)
		}
		ps.add(path, "%s", msg)
	case *kind.Pattern:
		var msg string
		switch k.Want {
		case durationPattern:
			msg = "must be a Go duration such as 500ms, 1s or 10m (0 for none)"
		case namePattern, topicPattern:
			msg = `may contain only letters, digits, ".", "_" and "-"`
		default:
			msg = "must match " + k.Want
		}
		if !secret {
			msg += fmt.Sprintf(", got %q", k.Got)
		}
		ps.add(path, "%s", msg)
	case *kind.MinLength:
		if k.Want == 1 {
			ps.add(path, "empty")
		} else {
			ps.add(path, "must be at least %d characters long", k.Want)
		}
	case *kind.MaxLength:
		ps.add(path, "must be at most %d characters long", k.Want)
	case *kind.MinItems:
		if k.Got == 0 {
			ps.add(path, "empty: at least %d entry is required", k.Want)
		} else {
			ps.add(path, "must have at least %d entries", k.Want)
		}
	case *kind.UniqueItems:
		ps.add(indexPath(path, k.Duplicates[1]), "duplicate of %s", indexPath(path, k.Duplicates[0]))
	case *kind.Minimum:
		ps.add(path, "must be at least %s", k.Want.RatString())
	case *kind.ExclusiveMinimum:
		ps.add(path, "must be greater than %s", k.Want.RatString())
	case *kind.Maximum:
		ps.add(path, "must be at most %s", k.Want.RatString())
	case *kind.ExclusiveMaximum:
		ps.add(path, "must be less than %s", k.Want.RatString())
	default:
		// A keyword this file does not use yet: name it, quote nothing.
		ps.add(path, "fails schema keyword %q", strings.Join(k.KeywordPath(), "/"))
	}
}

func wantTypes(want []string) string {
	names := make([]string, len(want))
	for i, w := range want {
		names[i] = typeName(w)
		if w == "boolean" {
			names[i] = "true or false"
		}
	}
	return strings.Join(names, " or ")
}

// typeName speaks YAML rather than JSON.
func typeName(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "string":
		return "a string"
	case "integer":
		return "an integer"
	case "number":
		return "a number"
	case "boolean":
		return "a boolean"
	default:
		return t
	}
}
