// Package swagger validates JSON documents against the definitions of
// Iterable's own Swagger 2.0 description of its API.
//
// The definitions live in definitions.json beside this file: a verbatim copy
// of the definitions used by the endpoints attrsync calls, taken from
// api-docs.json of the Iterable/api-client repository (MIT licence, spec
// version 1.8). operations.json holds the operation objects of the endpoints
// whose parameters are more than one body (the export, getFields,
// updateEmail, the deletes), so ValidateRequest can check query and path
// parameters too. They are the only copies in the module: the simulator's
// tests validate its responses with them, and the API client's tests validate
// the requests attrsync sends, so both sides are held to the same contract.
//
// Swagger 2.0 schema objects are nearly JSON Schema draft 4, so the document is
// compiled as draft 4 with two adaptations, both made because Swagger 2.0
// cannot express what Iterable really sends and accepts:
//
//   - A property that is not listed in "required" also accepts null. Iterable
//     answers "params": null in its error and success bodies, and its Play/JSON
//     readers treat a null optional field as absent.
//   - The formats "int32" and "int64" are asserted as integer ranges; every
//     other format is left unchecked, as Swagger tooling does.
//
// Additional properties stay allowed, as in the Swagger description: Iterable
// says it "may occasionally add fields to API response bodies".
package swagger

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Definition names available to Validate.
const (
	BulkUpdateUsersRequest     = "BulkUpdateUsersRequest"
	OptionalApiUser            = "OptionalApiUser"
	UserBulkUpdateListResponse = "UserBulkUpdateListResponse"
	FailedUserUpdates          = "FailedUserUpdates"
	IterableApiResponse        = "IterableApiResponse"
	UserResponse               = "UserResponse"
	ApiResponseUser            = "ApiResponseUser"
)

//go:embed definitions.json
var definitionsJSON []byte

// resourceURL is the in-memory location the converted document is registered
// under; "#/definitions/X" references resolve against it.
const resourceURL = "mem://iterable/api-docs.json"

// compiled holds the schemas compiled once per process. The embedded document
// is immutable, so caching it is not mutable state in any observable sense.
var compiled = sync.OnceValues(compileAll)

// Validate reports whether body, a JSON document, conforms to the named
// definition (see the constants). A nil result means it conforms; otherwise
// the error describes every violation with its JSON pointer.
func Validate(definition string, body []byte) error {
	schemas, err := compiled()
	if err != nil {
		return fmt.Errorf("swagger: load definitions: %w", err)
	}
	sch, ok := schemas[definition]
	if !ok {
		return fmt.Errorf("swagger: unknown definition %q (have %s)", definition, strings.Join(Definitions(), ", "))
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("swagger: %s: body is not JSON: %w", definition, err)
	}
	if err := sch.Validate(doc); err != nil {
		return fmt.Errorf("swagger: %s: %w", definition, err)
	}
	return nil
}

// Definitions lists the names of the definitions Validate knows, sorted.
func Definitions() []string {
	var doc struct {
		Definitions map[string]json.RawMessage `json:"definitions"`
	}
	if err := json.Unmarshal(definitionsJSON, &doc); err != nil {
		return nil
	}
	names := make([]string, 0, len(doc.Definitions))
	for n := range doc.Definitions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func compileAll() (map[string]*jsonschema.Schema, error) {
	raw, err := jsonschema.UnmarshalJSON(bytes.NewReader(definitionsJSON))
	if err != nil {
		return nil, fmt.Errorf("parse embedded definitions: %w", err)
	}
	top, ok := raw.(map[string]any)
	if !ok {
		return nil, errors.New("embedded definitions: not a JSON object")
	}
	defs, ok := top["definitions"].(map[string]any)
	if !ok {
		return nil, errors.New("embedded definitions: no \"definitions\" object")
	}
	converted := make(map[string]any, len(defs))
	for name, d := range defs {
		converted[name] = convert(d)
	}
	doc := map[string]any{
		"$schema":     "http://json-schema.org/draft-04/schema#",
		"definitions": converted,
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.RegisterFormat(&jsonschema.Format{Name: "int32", Validate: intRange(32)})
	c.RegisterFormat(&jsonschema.Format{Name: "int64", Validate: intRange(64)})
	if err := c.AddResource(resourceURL, doc); err != nil {
		return nil, fmt.Errorf("add definitions: %w", err)
	}
	out := make(map[string]*jsonschema.Schema, len(converted))
	for name := range converted {
		sch, err := c.Compile(resourceURL + "#/definitions/" + name)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", name, err)
		}
		out[name] = sch
	}
	return out, nil
}

// convert turns a Swagger 2.0 schema object into a draft-4 schema, making
// optional properties nullable (see the package comment). It returns a new
// value and leaves its argument untouched.
func convert(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := make(map[string]any, len(obj))
	for k, val := range obj {
		out[k] = val
	}
	if items, ok := obj["items"]; ok {
		out["items"] = convert(items)
	}
	if ap, ok := obj["additionalProperties"].(map[string]any); ok {
		out["additionalProperties"] = convert(ap)
	}
	props, ok := obj["properties"].(map[string]any)
	if !ok {
		return out
	}
	required := map[string]bool{}
	if req, ok := obj["required"].([]any); ok {
		for _, r := range req {
			if s, ok := r.(string); ok {
				required[s] = true
			}
		}
	}
	newProps := make(map[string]any, len(props))
	for name, p := range props {
		cp := convert(p)
		if !required[name] {
			cp = nullable(cp)
		}
		newProps[name] = cp
	}
	out["properties"] = newProps
	return out
}

// nullable widens a schema to also accept null.
func nullable(v any) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if _, isRef := obj["$ref"]; isRef {
		// In draft 4 siblings of $ref are ignored, so wrap instead.
		return map[string]any{"anyOf": []any{obj, map[string]any{"type": "null"}}}
	}
	t, ok := obj["type"].(string)
	if !ok {
		return obj
	}
	out := make(map[string]any, len(obj))
	for k, val := range obj {
		out[k] = val
	}
	out["type"] = []any{t, "null"}
	return out
}

// intRange returns a format check that an integer fits in a signed integer of
// the given width. Non-numbers pass: "type" is checked separately.
func intRange(bits uint) func(any) error {
	lo := new(big.Int).Neg(new(big.Int).Lsh(big.NewInt(1), bits-1))
	hi := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), bits-1), big.NewInt(1))
	return func(v any) error {
		n, ok := v.(json.Number)
		if !ok {
			return nil
		}
		r, ok := new(big.Rat).SetString(n.String())
		if !ok || !r.IsInt() {
			return nil // "type": "integer" reports fractions
		}
		i := r.Num()
		if i.Cmp(lo) < 0 || i.Cmp(hi) > 0 {
			return fmt.Errorf("%s does not fit in int%d", n, bits)
		}
		return nil
	}
}
