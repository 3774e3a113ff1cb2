package cli

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestValidateConnectChecksFieldTypes seeds the project with a planTier
// that is a number, while the mapping sends it as the row has it (auto) and
// version as a number: version, a string in the project, conflicts.
func TestValidateConnectChecksFieldTypes(t *testing.T) {
	e := newOpsEnv(t)
	if err := e.Sim.SeedUser("a@example.com", "", map[string]any{"planTier": 3, "version": "v1"}); err != nil {
		t.Fatal(err)
	}
	cfg := e.configFile(t, opsKey, e.Redis.URL)
	var out, errOut bytes.Buffer
	if code := Main([]string{"validate", "-c", cfg, "--connect"}, &out, &errOut); code != exitUsage {
		t.Errorf("exit %d with a type conflict, want %d:\n%s%s", code, exitUsage, &out, &errOut)
	}
	for _, want := range []string{
		"fields:   CONFLICT: version: attribute type number, Iterable field type string",
		"fields:   warning: planTier: attribute type auto, Iterable field type long",
		"iterable: ok",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}

	allowed := strings.Replace(readFile(t, cfg), "  api_key:", "  allow_type_conflicts: true\n  api_key:", 1)
	out.Reset()
	if code := Main([]string{"validate", "-c", writeFile(t, allowed), "--connect"}, &out, &errOut); code != exitOK {
		t.Errorf("exit %d with the conflict allowed:\n%s", code, &out)
	}
	if !strings.Contains(out.String(), "(allowed by iterable.allow_type_conflicts)") {
		t.Errorf("output:\n%s", &out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
