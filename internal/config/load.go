package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the config file at path, expands ${ENV} references from the
// process environment, applies defaults and validates the result.
//
// A config that is refused yields a *ValidationError listing every problem
// (match it with errors.As; the CLI exits 2 on it). Failing to read the file
// yields the wrapped I/O error instead.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse is Load without the file system: data is the YAML document and env
// resolves ${NAME} references (os.LookupEnv in production; nil means an empty
// environment). Relative TLS file paths are checked against the working
// directory, as they will be opened from there.
//
// The steps, in order: parse the YAML; expand references in every scalar
// value; validate against schemas/config.schema.json; decode over the
// defaults; fill the derived defaults; make the checks a schema cannot
// express. Problems from every step are collected, so one error lists them
// all, in document order.
func Parse(data []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = noEnv
	}
	ps := newProblems()

	root, ok := parseYAML(data, ps)
	if !ok {
		return nil, ps.err(nil)
	}

	pr := &preparer{env: env, problems: ps, done: map[*yaml.Node]bool{}, hints: map[string]string{}}
	pr.node(root, reflect.TypeFor[Config](), "")

	ib := &instanceBuilder{budget: maxInstanceNodes}
	inst, ok := ib.value(root)
	if !ok {
		ps.add("", "document too large: more than %d values once aliases are expanded", maxInstanceNodes)
		return nil, ps.err(nil)
	}
	secrets := secretValues(inst)

	sch, err := compileSchema()
	if err != nil {
		// The embedded schema is broken: a build defect, not a user error.
		return nil, err
	}
	if err := validateSchema(sch, inst, pr.hints, ps); err != nil {
		return nil, err
	}
	if _, isMap := inst.(map[string]any); !isMap {
		// Nothing to decode; the schema has said the document must be a mapping.
		return nil, ps.err(secrets)
	}

	c := defaults()
	if err := root.Decode(&c); err != nil && len(ps.list) == 0 {
		// The schema accepted what the decoder could not: report it rather
		// than return a half-decoded config. Scrubbing covers the value the
		// decoder's message may quote.
		ps.add("", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	applyDerivedDefaults(&c)
	checkSemantics(&c, ps)

	if err := ps.err(secrets); err != nil {
		return nil, err
	}
	return &c, nil
}

// parseYAML parses exactly one YAML document and returns its root node. The
// node tree, not the text, is what interpolation works on.
func parseYAML(data []byte, ps *problems) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.add("", "the file is empty")
		} else {
			ps.add("", "invalid YAML: %s", yamlMessage(err))
		}
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps.add("", "only one YAML document is allowed; another starts at line %d", extra.Line)
		return nil, false
	} else if !errors.Is(err, io.EOF) {
		ps.add("", "invalid YAML: %s", yamlMessage(err))
		return nil, false
	}
	if len(doc.Content) == 0 {
		ps.add("", "the file is empty")
		return nil, false
	}
	return doc.Content[0], true
}

// yamlMessage turns "yaml: line 4: mapping values are not allowed in this
// context" into "line 4: mapping values ..." for a problem list.
func yamlMessage(err error) string {
	return strings.TrimPrefix(err.Error(), "yaml: ")
}
