package deploycheck

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The API-server tier (make test-apiserver, not part of make test): a real
// kube-apiserver with etcd on loopback (deploy/local/kube/kube.sh). The
// CRDs are applied, then every manifest the chart renders is applied with
// server-side dry run and strict field validation: the server's own
// defaulting, validation and CEL rules, which no offline schema holds.

// apiServer is a client of the test API server.
type apiServer struct {
	base   string
	token  string
	client *http.Client
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	why := "a real API server (make test-apiserver starts one)"
	base := needEnv(t, "ATTRSYNC_KUBE_SERVER", why)
	token := needEnv(t, "ATTRSYNC_KUBE_TOKEN", why)
	ca, err := os.ReadFile(needEnv(t, "ATTRSYNC_KUBE_CA", why))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("ATTRSYNC_KUBE_CA holds no certificate")
	}
	s := &apiServer{base: base, token: token, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}}
	waitFor(t, 2*time.Minute, "the API server's /readyz", func() bool {
		code, _ := s.do(t, http.MethodGet, "/readyz", "", nil)
		return code == http.StatusOK
	})
	return s
}

// do sends one request and returns the status and body.
func (s *apiServer) do(t *testing.T, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// resources maps the kinds the chart renders, and the CRD kind, to their
// REST paths ("" namespace: cluster-scoped).
var resources = map[string]struct{ group, plural string }{
	"v1/ConfigMap":                                     {"/api/v1", "configmaps"},
	"v1/Service":                                       {"/api/v1", "services"},
	"v1/ServiceAccount":                                {"/api/v1", "serviceaccounts"},
	"v1/Namespace":                                     {"/api/v1", "namespaces"},
	"apps/v1/Deployment":                               {"/apis/apps/v1", "deployments"},
	"policy/v1/PodDisruptionBudget":                    {"/apis/policy/v1", "poddisruptionbudgets"},
	"keda.sh/v1alpha1/ScaledObject":                    {"/apis/keda.sh/v1alpha1", "scaledobjects"},
	"keda.sh/v1alpha1/TriggerAuthentication":           {"/apis/keda.sh/v1alpha1", "triggerauthentications"},
	"monitoring.coreos.com/v1/ServiceMonitor":          {"/apis/monitoring.coreos.com/v1", "servicemonitors"},
	"apiextensions.k8s.io/v1/CustomResourceDefinition": {"/apis/apiextensions.k8s.io/v1", "customresourcedefinitions"},
}

// apply applies obj with server-side apply and strict field validation,
// as a dry run unless real, and returns the status and body.
func (s *apiServer) apply(t *testing.T, obj map[string]any, namespace string, real bool) (int, []byte) {
	t.Helper()
	m := manifest(obj)
	key := fmt.Sprintf("%v/%v", obj["apiVersion"], m.kind())
	r, ok := resources[key]
	if !ok {
		t.Fatalf("no REST path known for %s", key)
	}
	path := r.group
	if namespace != "" {
		path += "/namespaces/" + namespace
	}
	q := url.Values{"fieldManager": {"attrsync-deploycheck"}, "fieldValidation": {"Strict"}, "force": {"true"}}
	if !real {
		q.Set("dryRun", "All")
	}
	body, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return s.do(t, http.MethodPatch, fmt.Sprintf("%s/%s/%s?%s", path, r.plural, m.name(), q.Encode()),
		"application/apply-patch+yaml", body)
}

// installCRDs applies every CRD, first as a dry run, then for real, and
// waits until the server serves each.
func (s *apiServer) installCRDs(t *testing.T) {
	t.Helper()
	dir := needEnv(t, "ATTRSYNC_CRDS", "KEDA's and the Prometheus Operator's CRDs (make test-deploy fetches them)")
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if len(files) == 0 {
		t.Fatalf("no CRDs in %s", dir)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := yaml.Unmarshal(b, &crd); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, real := range []bool{false, true} {
			if code, body := s.apply(t, crd, "", real); code != http.StatusOK && code != http.StatusCreated {
				t.Fatalf("apply %s (dry run %v): %d %s", filepath.Base(f), !real, code, body)
			}
		}
		name := manifest(crd).name()
		waitFor(t, time.Minute, name+" established", func() bool {
			_, body := s.do(t, http.MethodGet, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+name, "", nil)
			var got struct {
				Status struct {
					Conditions []struct{ Type, Status string } `json:"conditions"`
				} `json:"status"`
			}
			_ = json.Unmarshal(body, &got)
			for _, c := range got.Status.Conditions {
				if c.Type == "Established" && c.Status == "True" {
					return true
				}
			}
			return false
		})
	}
}

// TestAPIServerAcceptsTheChart applies every rendered manifest of every
// chart case to a real API server, dry run, strict.
func TestAPIServerAcceptsTheChart(t *testing.T) {
	s := newAPIServer(t)
	s.installCRDs(t)
	const ns = "syncs"
	if code, body := s.apply(t, map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}, "", true); code >= 300 {
		t.Fatalf("create namespace: %d %s", code, body)
	}
	for _, c := range chartCases {
		t.Run(c.name, func(t *testing.T) {
			_, docs := render(t, c.args...)
			for _, d := range docs {
				if code, body := s.apply(t, d, ns, false); code != http.StatusOK && code != http.StatusCreated {
					t.Errorf("%s %s: %d %s", d.kind(), d.name(), code, body)
				}
			}
		})
	}
	// Strictness shown: a misspelt field is refused by name, for a built-in
	// kind and a custom resource alike.
	_, docs := render(t, chartCases[1].args...)
	for _, kind := range []string{"Deployment", "ScaledObject"} {
		d := only(t, docs, kind)
		spec := d["spec"].(map[string]any)
		spec["replicaz"] = 2
		code, body := s.apply(t, d, ns, false)
		if code < 400 || !strings.Contains(string(body), "replicaz") {
			t.Errorf("%s with the unknown field spec.replicaz: %d %s, want it refused", kind, code, body)
		} else {
			t.Logf("%s with spec.replicaz refused: %d %s", kind, code, statusMessage(body))
		}
		delete(spec, "replicaz")
	}
	// A rule only the server holds (no schema can say it): a Deployment's
	// selector must match its pod template's labels.
	d := only(t, docs, "Deployment")
	sel := dig(t, d, "spec", "selector", "matchLabels").(map[string]any)
	sel["app.kubernetes.io/instance"] = "another"
	if code, body := s.apply(t, d, ns, false); code < 400 || !strings.Contains(string(body), "selector") {
		t.Errorf("a Deployment whose selector does not match its pods: %d %s, want it refused", code, body)
	} else {
		t.Logf("a Deployment whose selector does not match its pods refused: %d %s", code, statusMessage(body))
	}
}

// statusMessage is the message of a Kubernetes Status answer.
func statusMessage(body []byte) string {
	var st struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &st) != nil || st.Message == "" {
		return string(body)
	}
	return st.Message
}
