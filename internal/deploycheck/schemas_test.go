package deploycheck

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"
)

// Offline schemas for kubeconform. kubernetes-validate's per-kind schemas
// refer to a shared _definitions.json by an absolute URL that kubeconform
// would fetch over the network, so each kind the chart renders is written
// out self-contained: the definitions it reaches are copied into its own
// $defs. CRDs become JSON schemas the way kubeconform's openapi2jsonschema
// makes strict ones: every object that lists its properties refuses others.

// kubeVersions are the Kubernetes versions whose schemas every rendered
// manifest must satisfy: the oldest the chart supports and the newest
// kubernetes-validate ships.
var kubeVersions = []string{"1.31.0", "1.37.0"}

// kubeKinds are the built-in kinds the chart may render, as kubeconform
// names their schema files. A rendered kind missing here has no schema, and
// kubeconform fails on it: nothing passes unvalidated.
var kubeKinds = []string{
	"configmap-v1", "service-v1", "serviceaccount-v1", "deployment-apps-v1", "poddisruptionbudget-policy-v1",
}

const definitionsRef = "/api/_definitions.json#/$defs/"

var (
	schemaOnce sync.Once
	schemaDirs map[string]string // Kubernetes version → directory for -schema-location
	schemaErr  error
	schemaRoot string
)

// schemaDir returns a directory of self-contained strict schemas for the
// Kubernetes version and the CRDs, made once per test binary.
func schemaDir(t *testing.T, version string) string {
	t.Helper()
	k8s := needEnv(t, "ATTRSYNC_K8S_SCHEMAS", "kubernetes-validate's schemas (make test-deploy fetches them)")
	crds := needEnv(t, "ATTRSYNC_CRDS", "KEDA's and the Prometheus Operator's CRDs (make test-deploy fetches them)")
	schemaOnce.Do(func() {
		schemaRoot, schemaErr = os.MkdirTemp("", "attrsync-schemas-")
		if schemaErr != nil {
			return
		}
		schemaDirs = map[string]string{}
		for _, v := range kubeVersions {
			dir := filepath.Join(schemaRoot, v)
			if schemaErr = os.Mkdir(dir, 0o755); schemaErr != nil {
				return
			}
			if schemaErr = writeKubeSchemas(filepath.Join(k8s, "v"+v+"-local-strict"), dir); schemaErr != nil {
				return
			}
			if schemaErr = writeCRDSchemas(crds, dir); schemaErr != nil {
				return
			}
			schemaDirs[v] = dir
		}
	})
	if schemaErr != nil {
		t.Fatalf("preparing schemas: %v", schemaErr)
	}
	return schemaDirs[version]
}

func readJSON(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func writeKubeSchemas(src, dst string) error {
	defsFile, err := readJSON(filepath.Join(src, "_definitions.json"))
	if err != nil {
		return err
	}
	defs, _ := defsFile["$defs"].(map[string]any)
	for _, kind := range kubeKinds {
		s, err := readJSON(filepath.Join(src, kind+".json"))
		if err != nil {
			return err
		}
		// The $id is an https URL that relative references would resolve
		// against; the inlined schema needs none.
		delete(s, "$id")
		used := map[string]any{}
		var missing []string
		var inline func(v any)
		inline = func(v any) {
			switch n := v.(type) {
			case map[string]any:
				if ref, ok := n["$ref"].(string); ok {
					name := strings.TrimPrefix(strings.TrimPrefix(ref, definitionsRef), "#/$defs/")
					n["$ref"] = "#/$defs/" + name
					if _, done := used[name]; !done {
						d, ok := defs[name]
						if !ok {
							missing = append(missing, name)
							return
						}
						used[name] = d
						inline(d)
					}
				}
				for _, c := range n {
					inline(c)
				}
			case []any:
				for _, c := range n {
					inline(c)
				}
			}
		}
		inline(s)
		if len(missing) > 0 {
			return fmt.Errorf("%s: definitions not found: %v", kind, missing)
		}
		s["$defs"] = used
		if err := writeJSON(filepath.Join(dst, kind+".json"), s); err != nil {
			return err
		}
	}
	return nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// writeCRDSchemas writes a strict JSON schema for every version of every
// CRD file in dir, named as kubeconform looks for it.
func writeCRDSchemas(dir, dst string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s (%v)", dir, err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd struct {
			Spec struct {
				Group string `yaml:"group"`
				Names struct {
					Kind string `yaml:"kind"`
				} `yaml:"names"`
				Versions []struct {
					Name   string `yaml:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `yaml:"openAPIV3Schema"`
					} `yaml:"schema"`
				} `yaml:"versions"`
			} `yaml:"spec"`
		}
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		group, _, _ := strings.Cut(crd.Spec.Group, ".")
		for _, v := range crd.Spec.Versions {
			s := v.Schema.OpenAPIV3Schema
			if s == nil {
				return fmt.Errorf("%s %s: no openAPIV3Schema", f, v.Name)
			}
			strict(s)
			name := fmt.Sprintf("%s-%s-%s.json", strings.ToLower(crd.Spec.Names.Kind), group, v.Name)
			if err := writeJSON(filepath.Join(dst, name), s); err != nil {
				return err
			}
		}
	}
	return nil
}

// strict turns an OpenAPI v3 schema into the JSON schema kubeconform's
// strict mode expects: objects with listed properties refuse unknown ones
// (unless the CRD keeps unknown fields), and nullable fields accept null.
func strict(v any) {
	switch n := v.(type) {
	case map[string]any:
		_, props := n["properties"]
		_, additional := n["additionalProperties"]
		preserve, _ := n["x-kubernetes-preserve-unknown-fields"].(bool)
		if props && !additional && !preserve {
			n["additionalProperties"] = false
		}
		if nullable, _ := n["nullable"].(bool); nullable {
			if t, ok := n["type"].(string); ok {
				n["type"] = []any{t, "null"}
			}
		}
		for _, c := range n {
			strict(c)
		}
	case []any:
		for _, c := range n {
			strict(c)
		}
	}
}
