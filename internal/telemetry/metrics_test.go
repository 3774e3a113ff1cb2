package telemetry_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestMetricsAgreeWithTheSimulator runs a sync with its telemetry server and
// checks what /metrics says against what Iterable (the simulator) saw; then
// that every metric the shipped dashboard and alerts use is really exported.
func TestMetricsAgreeWithTheSimulator(t *testing.T) {
	r := newRig(t, 3, sim.Options{})
	h := testenv.History(80, 4, 7)
	msgs := append(h.Msgs, testenv.Raw(9999, "{not json"))
	r.Kafka.Produce(topic, msgs...)
	r.start(r.config())
	r.waitFinished(int64(len(msgs)))
	testenv.CheckProfiles(t, r.Sim, h.Last)

	m := r.scrape()
	st := r.Sim.Stats()
	bulkOK := float64(st.Requests[sim.EndpointBulkUpdate][200])
	if bulkOK == 0 {
		t.Fatal("the simulator saw no bulkUpdate")
	}
	checks := []struct {
		what      string
		got, want float64
	}{
		{"messages consumed", m.sum("attrsync_messages_consumed_total", nil), float64(len(msgs))},
		{"bulkUpdate requests answered 200", m.sum("attrsync_iterable_requests_total", map[string]string{"endpoint": "bulkUpdate", "status": "200"}), bulkOK},
		{"all Iterable requests", m.sum("attrsync_iterable_requests_total", nil), float64(len(r.Sim.Requests()))},
		{"request duration observations", m.sum("attrsync_iterable_request_duration_seconds_count", nil), float64(len(r.Sim.Requests()))},
		{"users changed", m.sum("attrsync_users_changed_total", nil), float64(st.UsersCreated + st.UsersUpdated)},
		{"profiles created (first change of each user)", float64(st.UsersCreated), float64(len(h.Last))},
		{"batches cut", m.sum("attrsync_batch_users_count", nil), bulkOK},
		{"users in batches", m.sum("attrsync_batch_users_sum", nil), float64(st.UsersCreated + st.UsersUpdated)},
		{"decode dead letters", m.sum("attrsync_messages_dead_lettered_total", map[string]string{"class": "decode"}), 1},
		{"rate-limiter waits (one per request)", m.sum("attrsync_ratelimit_wait_seconds_count", map[string]string{"endpoint": "bulkUpdate"}), bulkOK},
		{"delivery delays (one per accepted message)", m.sum("attrsync_delivery_delay_seconds_count", nil), m.sum("attrsync_messages_accepted_total", nil)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: /metrics says %v, want %v", c.what, c.got, c.want)
		}
	}
	var bodyBytes int
	for _, req := range r.Sim.Requests() {
		bodyBytes += req.BodyBytes
	}
	if got := m.sum("attrsync_batch_bytes_sum", nil); got != float64(bodyBytes) {
		t.Errorf("bytes in batches: /metrics says %v, the simulator received %d", got, bodyBytes)
	}
	// Everything is consumed: every owned partition is at its end.
	lags := 0
	for _, s := range m.samples {
		if s.name == "attrsync_consumer_lag" {
			lags++
			if s.value != 0 {
				t.Errorf("lag of %s/%s is %v after everything was consumed", s.labels["topic"], s.labels["partition"], s.value)
			}
		}
	}
	if lags != r.Parts {
		t.Errorf("%d partitions report a lag, want %d", lags, r.Parts)
	}

	t.Run("dashboard and alerts use exported metrics", func(t *testing.T) {
		names := referencedMetrics(t)
		if len(names) < 5 {
			t.Fatalf("found only %v in deploy/observability", names)
		}
		for _, n := range names {
			if !m.has(n) {
				t.Errorf("deploy/observability uses %s, which /metrics does not export", n)
			}
		}
	})
}

// metricName finds attrsync's metric names in PromQL.
var metricName = regexp.MustCompile(`\battrsync_[a-z0-9_]+`)

// referencedMetrics returns every attrsync metric named by an expression of
// the dashboard or the alert rules.
func referencedMetrics(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join("..", "..", "deploy", "observability")
	var exprs []string

	dash, err := os.ReadFile(filepath.Join(dir, "attrsync-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var board any
	if err := json.Unmarshal(dash, &board); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	collectExprs(board, &exprs)
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no expr")
	}

	rulesYAML, err := os.ReadFile(filepath.Join(dir, "attrsync-alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(rulesYAML, &rules); err != nil {
		t.Fatalf("alert rules: %v", err)
	}
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, rule := range g.Rules {
			if rule.Alert == "" || rule.Expr == "" || rule.Annotations["summary"] == "" {
				t.Errorf("rule %+v lacks an alert name, expr or summary", rule)
			}
			alerts[rule.Alert] = true
			exprs = append(exprs, rule.Expr)
		}
	}
	for _, want := range []string{"AttrsyncDeadLetters", "AttrsyncLagGrowing", "AttrsyncIterableThrottling", "AttrsyncIterableAuthFailing", "AttrsyncNoProgress"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}

	seen := map[string]bool{}
	for _, e := range exprs {
		for _, n := range metricName.FindAllString(e, -1) {
			seen[n] = true
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// collectExprs gathers every "expr" string of a decoded JSON document.
func collectExprs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "expr" {
				*out = append(*out, s)
				continue
			}
			collectExprs(e, out)
		}
	case []any:
		for _, e := range x {
			collectExprs(e, out)
		}
	}
}
