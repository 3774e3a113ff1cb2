package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/config"
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
	if goLine == nil || !strings.Contains(df, "FROM golang:"+goLine[1]) {
		t.Errorf("the build image must match go.mod's Go %v", goLine)
	}
}

// toString renders a YAML scalar (a port number, a duration) as text.
func toString(v any) string { return fmt.Sprint(v) }
