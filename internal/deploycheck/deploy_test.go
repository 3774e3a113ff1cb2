package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
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
	cfg, err := config.Parse([]byte(data), func(k string) (string, bool) { return "test-key", k == "ITERABLE_API_KEY" })
	if err != nil {
		t.Fatalf("shipped config does not load: %v", err)
	}
	return cfg
}

func dig(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("no %q in %v", k, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("no [%d] in %v", k, v)
			}
			v = l[k]
		}
	}
	return v
}

func TestKubernetesManifest(t *testing.T) {
	var cfgText string
	var deploy map[string]any
	for _, d := range docs(t, "deploy/kubernetes/attrsync.yaml") {
		switch d["kind"] {
		case "ConfigMap":
			cfgText, _ = dig(t, d, "data", "attrsync.yaml").(string)
		case "Deployment":
			deploy = d
		}
	}
	if cfgText == "" || deploy == nil {
		t.Fatal("the manifest needs a ConfigMap with attrsync.yaml and a Deployment")
	}
	cfg := loadConfig(t, cfgText)
	_, port, _ := net.SplitHostPort(cfg.Telemetry.Listen)
	pod := dig(t, deploy, "spec", "template", "spec")
	c := dig(t, pod, "containers", 0)
	if got := dig(t, c, "ports", 0, "containerPort"); port != toString(got) {
		t.Errorf("containerPort %v, but telemetry.listen is %s", got, cfg.Telemetry.Listen)
	}
	if host, _, _ := net.SplitHostPort(cfg.Telemetry.Listen); host != "0.0.0.0" {
		t.Errorf("telemetry.listen %s: probes from the kubelet need 0.0.0.0", cfg.Telemetry.Listen)
	}
	if p := dig(t, c, "livenessProbe", "httpGet", "path"); p != "/healthz" {
		t.Errorf("liveness probe %v, want /healthz", p)
	}
	if p := dig(t, c, "readinessProbe", "httpGet", "path"); p != "/readyz" {
		t.Errorf("readiness probe %v, want /readyz", p)
	}
	grace := time.Duration(dig(t, pod, "terminationGracePeriodSeconds").(int)) * time.Second
	if grace <= cfg.ShutdownGrace {
		t.Errorf("terminationGracePeriodSeconds %s must outlast shutdown_grace %s", grace, cfg.ShutdownGrace)
	}
	env := dig(t, c, "env", 0)
	if dig(t, env, "name") != "ITERABLE_API_KEY" || dig(t, env, "valueFrom", "secretKeyRef", "key") == nil {
		t.Error("the API key must come from a Secret through ITERABLE_API_KEY")
	}
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
