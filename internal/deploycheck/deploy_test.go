package deploycheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

const root = "../../"

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(root + path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// docs decodes every YAML document in a file.
func docs(t *testing.T, path string) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(read(t, path)))
	var out []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, d)
	}
}

func loadConfig(t *testing.T, data string) *config.Config {
	t.Helper()
	return loadConfigEnv(t, data, map[string]string{"ITERABLE_API_KEY": "test-key"})
}

// loadConfigEnv loads a shipped config with only env as its environment.
func loadConfigEnv(t *testing.T, data string, env map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(data), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}
	return cfg
}

// dig walks maps by key and lists by index. A step that does not exist
// fails the test, or, with a nil t, gives nil.
func dig(t *testing.T, v any, path ...any) any {
	if t != nil {
		t.Helper()
	}
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := asMap(v)
			if !ok {
				if t == nil {
					return nil
				}
				t.Fatalf("no %q in %v", k, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				if t == nil {
					return nil
				}
				t.Fatalf("no [%d] in %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

// asMap accepts a decoded YAML mapping and a rendered manifest alike.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case manifest:
		return m, true
	}
	return nil, false
}

func TestCompose(t *testing.T) {
	cfg := loadConfig(t, string(read(t, "deploy/compose/attrsync.yaml")))
	d := docs(t, "deploy/compose/compose.yaml")[0]
	services := dig(t, d, "services").(map[string]any)
	for _, name := range []string{"kafka", "redis", "iterable-sim", "attrsync"} {
		if services[name] == nil {
			t.Errorf("no %s service", name)
		}
	}
	if !strings.Contains(cfg.IterableBaseURL(), "iterable-sim:8089") || !strings.Contains(cfg.Kafka.Brokers[0], "kafka:") {
		t.Errorf("the config does not point at the compose services: %s, %v", cfg.IterableBaseURL(), cfg.Kafka.Brokers)
	}
	stop, err := time.ParseDuration(toString(dig(t, services, "attrsync", "stop_grace_period")))
	if err != nil || stop <= cfg.ShutdownGrace {
		t.Errorf("stop_grace_period %v must outlast shutdown_grace %s", stop, cfg.ShutdownGrace)
	}
}

func TestDockerfileBuildsWhatExists(t *testing.T) {
	df := string(read(t, "deploy/container/Dockerfile"))
	for _, m := range regexp.MustCompile(`\./cmd/[a-z-]+`).FindAllString(df, -1) {
		if _, err := os.Stat(root + m); err != nil {
			t.Errorf("Dockerfile builds %s, which does not exist", m)
		}
	}
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(read(t, "go.mod")))
	if goLine == nil || !strings.Contains(df, "FROM docker.io/library/golang:"+goLine[1]+" ") {
		t.Errorf("the build image must match go.mod's Go %v", goLine)
	}
}

// toString renders a YAML scalar (a port number, a duration) as text.
func toString(v any) string { return fmt.Sprint(v) }

// composeErrors validates a Compose file against the Compose
// specification's schema (compose-go's compose-spec.json) and returns what
// it refuses, nil when valid.
func composeErrors(t *testing.T, data []byte) error {
	t.Helper()
	schemaFile := needEnv(t, "ATTRSYNC_COMPOSE_SCHEMA", "the Compose specification's schema (make test-deploy fetches it)")
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("compose-spec.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("compose-spec.json")
	if err != nil {
		t.Fatal(err)
	}
	// Through YAML, then JSON, so the instance has JSON's types (the
	// validator knows no YAML maps).
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

func TestComposeFileFollowsTheSpec(t *testing.T) {
	data := read(t, "deploy/compose/compose.yaml")
	if err := composeErrors(t, data); err != nil {
		t.Errorf("deploy/compose/compose.yaml: %v", err)
	}
	// The check refuses a misspelt key, so the file above passed for real.
	bad := bytes.Replace(data, []byte("stop_grace_period:"), []byte("stop_grace_periods:"), 1)
	if err := composeErrors(t, bad); err == nil || !strings.Contains(err.Error(), "stop_grace_periods") {
		t.Errorf("a misspelt key passed the Compose schema: %v", err)
	}
}

func TestComposeBuildsTheImage(t *testing.T) {
	d := docs(t, "deploy/compose/compose.yaml")[0]
	services := dig(t, d, "services").(map[string]any)
	for _, name := range []string{"iterable-sim", "attrsync"} {
		b, _ := dig(t, services, name, "build").(map[string]any)
		df, _ := b["dockerfile"].(string)
		ctx, _ := b["context"].(string)
		if _, err := os.Stat(filepath.Join(root, "deploy/compose", ctx, df)); err != nil {
			t.Errorf("service %s builds %s in %s: %v", name, df, ctx, err)
		}
	}
	entry := toString(dig(t, services, "iterable-sim", "entrypoint", 0))
	if !strings.Contains(string(read(t, "deploy/container/Dockerfile")), strings.TrimPrefix(entry, "/")) {
		t.Errorf("iterable-sim's entrypoint %s is not where the Dockerfile puts it", entry)
	}
}
