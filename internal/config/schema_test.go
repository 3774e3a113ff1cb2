package config

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/ratelimit"
	"github.com/attrsync/attrsync/schemas"
)

func TestSchemaIsValidJSONSchema(t *testing.T) {
	// Compiling checks the file against the 2020-12 meta-schema.
	if _, err := compileSchema(); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaMatchesConfigStruct keeps the schema and the Go types in step:
// every YAML key of Config has a schema property and vice versa, and every
// default the schema documents is the one defaults() applies.
func TestSchemaMatchesConfigStruct(t *testing.T) {
	data, err := schemas.FS.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	defs, _ := root["$defs"].(map[string]any)
	resolve := func(s map[string]any) map[string]any {
		if ref, ok := s["$ref"].(string); ok {
			target, _ := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
			merged := map[string]any{}
			for k, v := range target {
				merged[k] = v
			}
			for k, v := range s {
				merged[k] = v
			}
			return merged
		}
		return s
	}

	var walk func(path string, s map[string]any, typ reflect.Type, def reflect.Value)
	walk = func(path string, s map[string]any, typ reflect.Type, def reflect.Value) {
		s = resolve(s)
		switch {
		case typ.Kind() == reflect.Struct:
			if s["additionalProperties"] != false {
				t.Errorf("%s: additionalProperties must be false so typos are caught", path)
			}
			props, _ := s["properties"].(map[string]any)
			fields := yamlFields(typ)
			for name := range props {
				if _, ok := fields[name]; !ok {
					t.Errorf("%s: schema property %q has no Config field", path, name)
				}
			}
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
				sub, ok := props[name].(map[string]any)
				if !ok {
					t.Errorf("%s: Config field %s (%q) is missing from the schema", path, f.Name, name)
					continue
				}
				var fv reflect.Value
				if def.IsValid() {
					fv = def.Field(i)
				}
				walk(childPath(path, name), sub, f.Type, fv)
			}
		case typ.Kind() == reflect.Slice:
			items, _ := s["items"].(map[string]any)
			if items == nil {
				t.Errorf("%s: schema has no items", path)
				return
			}
			walk(path+"[]", items, typ.Elem(), reflect.Value{})
		default:
			want, has := s["default"]
			if !has || !def.IsValid() {
				return
			}
			if !defaultMatches(want, def) {
				t.Errorf("%s: schema default %v, defaults() has %v", path, want, def.Interface())
			}
		}
	}
	walk("", root, reflect.TypeFor[Config](), reflect.ValueOf(defaults()))
}

// TestSchemaScopesAreRatelimits keeps rate_limit.scope's enum in step with
// the scopes internal/ratelimit defines: a scope the schema admitted and
// the limiters did not know would pass validation and fail at start.
func TestSchemaScopesAreRatelimits(t *testing.T) {
	data, err := schemas.FS.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Properties struct {
			RateLimit struct {
				Properties struct {
					Scope struct {
						Enum []ratelimit.Scope `json:"enum"`
					} `json:"scope"`
				} `json:"properties"`
			} `json:"rate_limit"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	got := root.Properties.RateLimit.Properties.Scope.Enum
	if want := []ratelimit.Scope{ratelimit.ScopeGlobal, ratelimit.ScopeLocal}; !slices.Equal(got, want) {
		t.Errorf("rate_limit.scope enum %q, want %q", got, want)
	}
}

func defaultMatches(schemaDefault any, v reflect.Value) bool {
	if v.Type() == durationType {
		s, _ := schemaDefault.(string)
		d, err := time.ParseDuration(s)
		return err == nil && d == time.Duration(v.Int())
	}
	switch v.Kind() {
	case reflect.String:
		return schemaDefault == v.String()
	case reflect.Bool:
		return schemaDefault == v.Bool()
	case reflect.Int, reflect.Int64:
		f, ok := schemaDefault.(float64)
		return ok && f == float64(v.Int())
	case reflect.Float64:
		return schemaDefault == v.Float()
	}
	return false
}
