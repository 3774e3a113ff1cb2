package swagger

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Operations available to ValidateRequest and ResponseDefinition, keyed as
// "METHOD path template" like Iterable's Swagger paths.
const (
	OpExportDataJSON = "GET /api/export/data.json"
	OpGetUserFields  = "GET /api/users/getFields"
	OpUpdateEmail    = "POST /api/users/updateEmail"
	OpDeleteByEmail  = "DELETE /api/users/{email}"
	OpDeleteByUserID = "DELETE /api/users/byUserId/{userId}"
)

// The definitions the new operations refer to.
const (
	GetUserFieldsResponse = "GetUserFieldsResponse"
	UpdateEmailRequest    = "UpdateEmailRequest"
)

// operationsJSON holds verbatim copies of the operation objects, so that the
// parameters a client sends are checked against what Iterable documents, not
// against what attrsync's authors remembered.
//
//go:embed operations.json
var operationsJSON []byte

// parameter is a Swagger 2.0 parameter object, as far as it is checked.
type parameter struct {
	Name     string          `json:"name"`
	In       string          `json:"in"`
	Required bool            `json:"required"`
	Type     string          `json:"type"`
	Enum     []string        `json:"enum"`
	Schema   json.RawMessage `json:"schema"`
}

// operation is a Swagger 2.0 operation object, as far as it is checked.
type operation struct {
	Parameters []parameter `json:"parameters"`
	Responses  map[string]struct {
		Schema json.RawMessage `json:"schema"`
	} `json:"responses"`
}

// loadOperations parses the embedded operations once per process; like
// compiled, it caches an immutable document.
var loadOperations = sync.OnceValues(func() (map[string]operation, error) {
	var doc struct {
		Operations map[string]operation `json:"operations"`
	}
	if err := json.Unmarshal(operationsJSON, &doc); err != nil {
		return nil, fmt.Errorf("parse embedded operations: %w", err)
	}
	return doc.Operations, nil
})

// Request is one call of an operation as a client sends it.
type Request struct {
	// Path holds the path parameters by name ("email", "userId"), decoded.
	Path map[string]string
	// Query is the decoded query string.
	Query url.Values
	// Body is the request body; nil when there is none.
	Body []byte
}

// Operations lists the operation keys ValidateRequest knows, sorted.
func Operations() []string {
	ops, err := loadOperations()
	if err != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(ops))
}

// ValidateRequest checks req against the parameters Iterable documents for
// op: every required parameter is present, every query parameter is one the
// operation declares, has the declared type and one of the enumerated values,
// and a body conforms to its definition. A nil result means it conforms;
// otherwise every violation is listed.
func ValidateRequest(op string, req Request) error {
	ops, err := loadOperations()
	if err != nil {
		return fmt.Errorf("swagger: %w", err)
	}
	o, ok := ops[op]
	if !ok {
		return fmt.Errorf("swagger: unknown operation %q", op)
	}
	var problems []error
	declared := map[string]bool{}
	for _, p := range o.Parameters {
		switch p.In {
		case "query":
			declared[p.Name] = true
			problems = append(problems, checkQuery(p, req.Query[p.Name])...)
		case "path":
			if req.Path[p.Name] == "" {
				problems = append(problems, fmt.Errorf("path parameter %s: missing", p.Name))
			}
		case "body":
			problems = append(problems, checkBody(p, req.Body)...)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(req.Query)) {
		if !declared[name] {
			problems = append(problems, fmt.Errorf("query parameter %s: not a parameter of %s", name, op))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("swagger: %s: %w", op, errors.Join(problems...))
	}
	return nil
}

// checkQuery checks the values sent for one query parameter.
func checkQuery(p parameter, values []string) []error {
	if len(values) == 0 {
		if p.Required {
			return []error{fmt.Errorf("query parameter %s: required", p.Name)}
		}
		return nil
	}
	if p.Type != "array" && len(values) > 1 {
		return []error{fmt.Errorf("query parameter %s: sent %d times, takes one value", p.Name, len(values))}
	}
	var problems []error
	for _, v := range values {
		switch {
		case p.Type == "integer":
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				problems = append(problems, fmt.Errorf("query parameter %s: %q is not an integer", p.Name, v))
			}
		case len(p.Enum) > 0 && !slices.Contains(p.Enum, v):
			problems = append(problems, fmt.Errorf("query parameter %s: %q is not one of %s", p.Name, v, strings.Join(p.Enum, ", ")))
		}
	}
	return problems
}

// checkBody validates a body against the definition its schema refers to.
func checkBody(p parameter, body []byte) []error {
	if body == nil {
		if p.Required {
			return []error{errors.New("body: required")}
		}
		return nil
	}
	var schema struct {
		Ref string `json:"$ref"`
	}
	if err := json.Unmarshal(p.Schema, &schema); err != nil || schema.Ref == "" {
		return nil // no definition to hold it to
	}
	if err := Validate(strings.TrimPrefix(schema.Ref, "#/definitions/"), body); err != nil {
		return []error{fmt.Errorf("body: %w", err)}
	}
	return nil
}

// ResponseDefinition says what Iterable documents for op's answers with
// status: documented is false when the status is not among the operation's
// responses; def names the definition the body must conform to, "" when the
// response has no schema or one that is not a definition (the export's
// stream of JSON lines is a "string").
func ResponseDefinition(op string, status int) (def string, documented bool) {
	ops, err := loadOperations()
	if err != nil {
		return "", false
	}
	r, ok := ops[op].Responses[strconv.Itoa(status)]
	if !ok {
		return "", false
	}
	var schema struct {
		Ref string `json:"$ref"`
	}
	if json.Unmarshal(r.Schema, &schema) == nil {
		def = strings.TrimPrefix(schema.Ref, "#/definitions/")
	}
	return def, true
}
