package deploycheck

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The deploy tier (make test-deploy): the Helm chart rendered with several
// sets of values, each manifest validated strictly against offline
// Kubernetes schemas and KEDA's CRDs, the ScaledObject checked against the
// rules KEDA's Kafka scaler enforces, and the rendered config passed to
// `attrsync validate`.

const chartDir = root + "deploy/helm/attrsync"

func TestMain(m *testing.M) {
	code := m.Run()
	for _, dir := range []string{schemaRoot, binDir} {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	os.Exit(code)
}

// chartCase is one set of values the chart must render valid manifests for.
type chartCase struct {
	name string
	args []string // helm template arguments: -f FILE, --set ...
}

var chartCases = []chartCase{
	{"defaults", nil},
	{"keda", []string{"-f", chartDir + "/ci/keda-values.yaml"}},
	{"sasl-ssl", []string{"-f", chartDir + "/ci/sasl-ssl-values.yaml"}},
	{"update-mode", []string{"-f", chartDir + "/ci/update-mode-values.yaml"}},
	{"keda-two-topics", []string{"-f", chartDir + "/ci/keda-values.yaml",
		"--set-json", `config.kafka.topics=["app.public.users","app.public.accounts"]`}},
	{"fixed-replicas", []string{"--set", "replicaCount=3", "--set", "podDisruptionBudget.enabled=false",
		"--set", "serviceAccount.create=false", "--set", "config.shutdown_grace=90s"}},
}

func helmBin(t *testing.T) string {
	t.Helper()
	return needEnv(t, "ATTRSYNC_HELM", "the helm binary (make test-deploy builds it once)")
}

// helmTemplate renders the chart as release "attrsync" in namespace
// "syncs" and returns the manifests, or helm's error output.
func helmTemplate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"template", "attrsync", chartDir, "--namespace", "syncs"}, args...)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(helmBin(t), full...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%v: %s", err, stderr.String())
	}
	return stdout.String(), nil
}

// manifest is one rendered object.
type manifest map[string]any

func (m manifest) kind() string { s, _ := m["kind"].(string); return s }

func (m manifest) name() string { s, _ := dig(nil, m, "metadata", "name").(string); return s }

// render renders a case and decodes its manifests, failing the test on
// any error.
func render(t *testing.T, args ...string) (string, []manifest) {
	t.Helper()
	out, err := helmTemplate(t, args...)
	if err != nil {
		t.Fatalf("helm template %v: %v", args, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(out))
	var docs []manifest
	for {
		// Decoded as a plain map: yaml would make nested maps manifests too.
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			return out, docs
		}
		if err != nil {
			t.Fatalf("rendered YAML does not decode: %v", err)
		}
		if d != nil {
			docs = append(docs, manifest(d))
		}
	}
}

// only returns the one manifest of kind, failing if there is not exactly one.
func only(t *testing.T, docs []manifest, kind string) manifest {
	t.Helper()
	var found []manifest
	for _, d := range docs {
		if d.kind() == kind {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s manifests rendered, want 1", len(found), kind)
	}
	return found[0]
}

func kinds(docs []manifest) []string {
	var out []string
	for _, d := range docs {
		out = append(out, d.kind())
	}
	slices.Sort(out)
	return out
}

func TestHelmLint(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			out, err := exec.Command(helmBin(t), append([]string{"lint", "--strict", chartDir}, c.args...)...).CombinedOutput()
			if err != nil {
				t.Fatalf("helm lint --strict: %v\n%s", err, out)
			}
		})
	}
}

func TestChartRendersWhatIsAskedFor(t *testing.T) {
	want := map[string][]string{
		"defaults":        {"ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"},
		"keda":            {"ConfigMap", "Deployment", "PodDisruptionBudget", "ScaledObject", "Service", "ServiceAccount", "ServiceMonitor"},
		"sasl-ssl":        {"ConfigMap", "Deployment", "PodDisruptionBudget", "ScaledObject", "Service", "ServiceAccount", "TriggerAuthentication"},
		"update-mode":     {"ConfigMap", "Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"},
		"keda-two-topics": {"ConfigMap", "Deployment", "PodDisruptionBudget", "ScaledObject", "Service", "ServiceAccount", "ServiceMonitor"},
		"fixed-replicas":  {"ConfigMap", "Deployment", "Service"},
	}
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			_, docs := render(t, c.args...)
			if got := kinds(docs); !slices.Equal(got, want[c.name]) {
				t.Errorf("rendered %v, want %v", got, want[c.name])
			}
		})
	}
}

// kubeconform validates a file of manifests strictly against the offline
// schemas of one Kubernetes version and returns its output.
func kubeconform(t *testing.T, version, file string) (string, error) {
	t.Helper()
	bin := needEnv(t, "ATTRSYNC_KUBECONFORM", "the kubeconform binary (make test-deploy builds it once)")
	dir := schemaDir(t, version)
	out, err := exec.Command(bin, "-strict", "-summary", "-kubernetes-version", version,
		"-schema-location", dir+"/{{.ResourceKind}}{{.KindSuffix}}.json", file).CombinedOutput()
	return string(out), err
}

var summaryLine = regexp.MustCompile(`Valid: (\d+), Invalid: (\d+), Errors: (\d+), Skipped: (\d+)`)

func TestChartManifestsAreValid(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			out, docs := render(t, c.args...)
			file := filepath.Join(t.TempDir(), "manifests.yaml")
			if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, v := range kubeVersions {
				res, err := kubeconform(t, v, file)
				if err != nil {
					t.Errorf("kubeconform (Kubernetes %s): %v\n%s", v, err, res)
					continue
				}
				m := summaryLine.FindStringSubmatch(res)
				if m == nil || m[1] != fmt.Sprint(len(docs)) || m[4] != "0" {
					t.Errorf("kubeconform (Kubernetes %s) validated not all %d manifests:\n%s", v, len(docs), res)
				}
			}
		})
	}
}

// TestKubeconformRefusesUnknownFields shows the validation is strict for
// built-in kinds and CRDs alike: a misspelt field fails it.
func TestKubeconformRefusesUnknownFields(t *testing.T) {
	out, _ := render(t, chartCases[1].args...)
	for _, c := range []struct{ name, from, to, complaint string }{
		{"Deployment", "livenessProbe:", "livenessProbes:", "livenessProbes"},
		{"ScaledObject", "  pollingInterval:", "  pollingIntervall:", "pollingIntervall"},
		{"ServiceMonitor", "      interval:", "      intervall:", "intervall"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(out, c.from) {
				t.Fatalf("the render has no %q to misspell", c.from)
			}
			file := filepath.Join(t.TempDir(), "manifests.yaml")
			if err := os.WriteFile(file, []byte(strings.Replace(out, c.from, c.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := kubeconform(t, kubeVersions[len(kubeVersions)-1], file)
			if err == nil || !strings.Contains(res, c.complaint) {
				t.Errorf("kubeconform accepted %s with the unknown field %s (%v):\n%s", c.name, c.complaint, err, res)
			}
		})
	}
}

// podEnv returns the environment the Deployment gives the container, with
// a placeholder for each value that comes from a Secret.
func podEnv(t *testing.T, deploy manifest) map[string]string {
	t.Helper()
	env := map[string]string{}
	list, _ := dig(t, deploy, "spec", "template", "spec", "containers", 0, "env").([]any)
	for _, e := range list {
		m := e.(map[string]any)
		name := m["name"].(string)
		if v, ok := m["value"].(string); ok {
			env[name] = v
		} else {
			env[name] = "from-secret-" + strings.ToLower(name)
		}
	}
	return env
}

func configText(t *testing.T, docs []manifest) string {
	t.Helper()
	text, _ := dig(t, only(t, docs, "ConfigMap"), "data", "attrsync.yaml").(string)
	if text == "" {
		t.Fatal("the ConfigMap has no attrsync.yaml")
	}
	return text
}

// podConfig returns the rendered config as the pod would read it: the
// config checks that TLS files exist, so every path the config names under
// a Secret's mount is made a file under a temporary root, and the config
// is pointed there. A path outside every mounted Secret stays as it is, and
// fails the check as it would in the pod.
func podConfig(t *testing.T, docs []manifest) string {
	t.Helper()
	text := configText(t, docs)
	pod := dig(t, only(t, docs, "Deployment"), "spec", "template", "spec")
	secretVolumes := map[string]bool{}
	volumes, _ := dig(t, pod, "volumes").([]any)
	for _, v := range volumes {
		if dig(nil, v, "secret") != nil {
			secretVolumes[dig(t, v, "name").(string)] = true
		}
	}
	fs := t.TempDir()
	mounts, _ := dig(t, pod, "containers", 0, "volumeMounts").([]any)
	for _, m := range mounts {
		if !secretVolumes[dig(t, m, "name").(string)] {
			continue
		}
		dir := dig(t, m, "mountPath").(string) + "/"
		for _, path := range regexp.MustCompile(regexp.QuoteMeta(dir)+`[^\s"']+`).FindAllString(text, -1) {
			if err := os.MkdirAll(filepath.Dir(fs+path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(fs+path, []byte("from the Secret\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		text = strings.ReplaceAll(text, dir, fs+dir)
	}
	return text
}

func TestChartDeployment(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			_, docs := render(t, c.args...)
			deploy := only(t, docs, "Deployment")
			env := podEnv(t, deploy)
			cfg := loadConfigEnv(t, podConfig(t, docs), env)
			pod := dig(t, deploy, "spec", "template", "spec")
			ctr := dig(t, pod, "containers", 0)

			host, port, _ := net.SplitHostPort(cfg.Telemetry.Listen)
			if host != "0.0.0.0" {
				t.Errorf("telemetry.listen %s: the kubelet's probes and Prometheus need 0.0.0.0", cfg.Telemetry.Listen)
			}
			if got := toString(dig(t, ctr, "ports", 0, "containerPort")); got != port {
				t.Errorf("containerPort %s, but telemetry.listen is %s", got, cfg.Telemetry.Listen)
			}
			if p := dig(t, ctr, "livenessProbe", "httpGet", "path"); p != "/healthz" {
				t.Errorf("liveness probe %v, want /healthz", p)
			}
			if p := dig(t, ctr, "readinessProbe", "httpGet", "path"); p != "/readyz" {
				t.Errorf("readiness probe %v, want /readyz", p)
			}
			grace := time.Duration(dig(t, pod, "terminationGracePeriodSeconds").(int)) * time.Second
			if grace <= cfg.ShutdownGrace {
				t.Errorf("terminationGracePeriodSeconds %s must outlast shutdown_grace %s", grace, cfg.ShutdownGrace)
			}
			if env["ITERABLE_API_KEY"] != "from-secret-iterable_api_key" {
				t.Error("ITERABLE_API_KEY must come from a Secret")
			}
			if dig(t, pod, "securityContext", "runAsNonRoot") != true || dig(t, pod, "securityContext", "runAsUser") != 65532 {
				t.Errorf("pod securityContext %v: want runAsNonRoot and the image's uid 65532", dig(t, pod, "securityContext"))
			}
			if dig(t, ctr, "securityContext", "readOnlyRootFilesystem") != true || dig(t, ctr, "securityContext", "allowPrivilegeEscalation") != false {
				t.Errorf("container securityContext %v: want a read-only root filesystem and no privilege escalation", dig(t, ctr, "securityContext"))
			}
			if c.name == "defaults" {
				res := dig(t, ctr, "resources")
				if dig(t, res, "requests", "memory") != "256Mi" || dig(t, res, "limits", "memory") != "512Mi" {
					t.Errorf("resources %v: want 256Mi requested, 512Mi limit (README's memory model)", res)
				}
				if env["GOMEMLIMIT"] != "460MiB" {
					t.Errorf("GOMEMLIMIT %q, want 460MiB (90 %% of 512Mi)", env["GOMEMLIMIT"])
				}
				if r := dig(t, deploy, "spec", "replicas"); r != 1 {
					t.Errorf("replicas %v, want 1", r)
				}
			}
			if c.name == "sasl-ssl" {
				if cfg.Kafka.SASL.Password != env["KAFKA_SASL_PASSWORD"] || cfg.Kafka.SASL.Password == "" {
					t.Error("the SASL password must come from the Secret through KAFKA_SASL_PASSWORD")
				}
				if cfg.Redis.Password != env["REDIS_PASSWORD"] || cfg.Redis.Password == "" {
					t.Error("the Redis password must come from the Secret through REDIS_PASSWORD")
				}
				if !strings.HasSuffix(cfg.Kafka.TLS.CAFile, "/etc/attrsync/kafka-tls/ca.crt") || !cfg.Kafka.TLS.Enabled {
					t.Errorf("kafka.tls %+v: want the CA from the mounted Secret", cfg.Kafka.TLS)
				}
				if !strings.Contains(toString(dig(t, pod, "volumes")), "kafka-client-tls") {
					t.Error("the Kafka TLS Secret is not mounted")
				}
			}
		})
	}
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// attrsyncBinary builds cmd/attrsync once for the package's tests.
func attrsyncBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "attrsync-deploycheck-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+"/attrsync", root+"cmd/attrsync").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir + "/attrsync"
}

// validate runs `attrsync validate -c` on the rendered config with only the
// environment the pod would have: a ${NAME} the chart does not provide is
// refused as unset.
func validate(t *testing.T, docs []manifest) (string, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "attrsync.yaml")
	if err := os.WriteFile(file, []byte(podConfig(t, docs)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(attrsyncBinary(t), "validate", "-c", file)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range podEnv(t, only(t, docs, "Deployment")) {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestChartConfigPassesValidate(t *testing.T) {
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			_, docs := render(t, c.args...)
			if out, err := validate(t, docs); err != nil {
				t.Errorf("attrsync validate refused the rendered config: %v\n%s\n%s", err, out, configText(t, docs))
			}
		})
	}
}

// TestChartConfigRefusedByValidate shows that the chart passes the config
// through as written, so validate sees a user's mistakes.
func TestChartConfigRefusedByValidate(t *testing.T) {
	_, docs := render(t, "--set-json", `config.iterable.attributes=[{"from":"mail","to":"email"}]`)
	out, err := validate(t, docs)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(out, "iterable.attributes[0].to") {
		t.Errorf("attrsync validate: %v, want exit status 2 naming iterable.attributes[0].to:\n%s", err, out)
	}
}

func TestChartRefusesWhatCannotWork(t *testing.T) {
	keda := []string{"--set", "autoscaling.enabled=true", "--set", "autoscaling.partitions=6"}
	for _, c := range []struct {
		name      string
		args      []string
		complaint string
	}{
		{"local limiter with fixed replicas", []string{"--set", "replicaCount=2", "--set", "config.rate_limit.scope=local"},
			`config.rate_limit.scope is "local", but up to 2 replicas can run`},
		{"local limiter with autoscaling", append(slices.Clone(keda), "--set", "config.rate_limit.scope=local"),
			`config.rate_limit.scope is "local", but up to 6 replicas can run`},
		{"more replicas than partitions", []string{"--set", "autoscaling.enabled=true", "--set", "autoscaling.partitions=3"},
			"autoscaling.maxReplicaCount 6 is more than the topic's 3 partitions"},
		{"partitions unknown", []string{"--set", "autoscaling.enabled=true"}, "autoscaling.partitions: give the partition count"},
		{"min above max", append(slices.Clone(keda), "--set", "autoscaling.minReplicaCount=7"), "minReplicaCount 7 is more than maxReplicaCount 6"},
		{"zero lag threshold", append(slices.Clone(keda), "--set", "autoscaling.lagThreshold=0"), "lagThreshold must be a positive"},
		{"brokers from the environment", append(slices.Clone(keda), "--set-json", `config.kafka.brokers=["${KAFKA_BROKERS}"]`),
			"KEDA cannot read"},
		{"grace period too short", []string{"--set", "terminationGracePeriodSeconds=30"},
			"terminationGracePeriodSeconds 30 must be longer than shutdown_grace 30s"},
		{"grace period shorter than a long drain", []string{"--set", "config.shutdown_grace=2m", "--set", "terminationGracePeriodSeconds=100"},
			"terminationGracePeriodSeconds 100 must be longer than shutdown_grace 2m"},
		{"not a duration", []string{"--set", "config.shutdown_grace=30"}, `shutdown_grace "30" is not a Go duration`},
		{"SASL without a Secret", []string{"--set", "kafka.sasl.mechanism=SCRAM-SHA-512"}, "kafka.sasl.secret"},
		{"TLS without a Secret", []string{"--set", "kafka.tls.enabled=true"}, "kafka.tls.secret"},
		{"client certificate without key", []string{"--set", "kafka.tls.enabled=true", "--set", "kafka.tls.secret=s", "--set", "kafka.tls.certKey=tls.crt"},
			"a client certificate needs both"},
		{"no API key Secret", []string{"--set", "iterable.apiKeySecret.name="}, "iterable.apiKeySecret.name"},
		{"misspelt value", []string{"--set", "autoscalling.enabled=true"}, "additional properties 'autoscalling' not allowed"},
		{"value of the wrong type", []string{"--set", "autoscaling.partitions=six"}, "/autoscaling/partitions': got string, want integer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := helmTemplate(t, c.args...)
			if err == nil {
				t.Fatalf("helm template %v rendered:\n%s", c.args, out)
			}
			if !strings.Contains(err.Error(), c.complaint) {
				t.Errorf("helm template %v failed with %v; want it to say %q", c.args, err, c.complaint)
			}
		})
	}
}

// TestChartGracePeriodFollowsShutdownGrace: by default the pod gets
// shutdown_grace plus 15 s, whatever unit the duration is written in.
func TestChartGracePeriodFollowsShutdownGrace(t *testing.T) {
	for grace, want := range map[string]int{"30s": 45, "1m30s": 105, "2500ms": 18, "0": 15, "1h": 3615} {
		_, docs := render(t, "--set", "config.shutdown_grace="+grace)
		if got := dig(t, only(t, docs, "Deployment"), "spec", "template", "spec", "terminationGracePeriodSeconds"); got != want {
			t.Errorf("shutdown_grace %s: terminationGracePeriodSeconds %v, want %d", grace, got, want)
		}
	}
}
