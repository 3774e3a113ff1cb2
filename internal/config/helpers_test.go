package config

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// fakeAPIKey is recognisable, so a leak into any message is easy to spot.
const fakeAPIKey = "FAKEKEY-0123456789abcdef-DO-NOT-LEAK"

// envOf returns an injectable environment backed by m.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// baseEnv is the environment the testdata files expect.
func baseEnv() map[string]string {
	return map[string]string{"ITERABLE_API_KEY": fakeAPIKey}
}

// withOverrides returns testdata/minimal.yaml with override (a YAML mapping)
// deep-merged into it: mappings merge key by key, anything else replaces.
func withOverrides(t *testing.T, override string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var base, over map[string]any
	if err := yaml.Unmarshal(data, &base); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(override), &over); err != nil {
		t.Fatalf("override: %v", err)
	}
	merge(base, over)
	out, err := yaml.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func merge(dst, src map[string]any) {
	for k, v := range src {
		sm, srcIsMap := v.(map[string]any)
		dm, dstIsMap := dst[k].(map[string]any)
		if srcIsMap && dstIsMap {
			merge(dm, sm)
			continue
		}
		dst[k] = v
	}
}

// mustParse parses data and fails the test on any error.
func mustParse(t *testing.T, data []byte, env map[string]string) *Config {
	t.Helper()
	c, err := Parse(data, envOf(env))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}

// problemsOf parses data, expects a *ValidationError and returns its lines.
func problemsOf(t *testing.T, data []byte, env map[string]string) []string {
	t.Helper()
	c, err := Parse(data, envOf(env))
	if err == nil {
		t.Fatalf("Parse accepted the config: %+v", c)
	}
	if c != nil {
		t.Errorf("Parse returned a config together with an error")
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error is %T, not *ValidationError: %v", err, err)
	}
	lines := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		lines[i] = p.String()
	}
	return lines
}

// wantProblem fails unless one of got equals want.
func wantProblem(t *testing.T, got []string, want string) {
	t.Helper()
	if !slices.Contains(got, want) {
		t.Errorf("missing problem %q; got:\n  %s", want, strings.Join(got, "\n  "))
	}
}
