package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestInterpolate(t *testing.T) {
	env := envOf(map[string]string{"A": "alpha", "EMPTY": "", "DOLLAR": "${A}"})
	cases := []struct {
		in, want string
		errs     []string
	}{
		{"plain", "plain", nil},
		{"${A}", "alpha", nil},
		{"x-${A}-y", "x-alpha-y", nil},
		{"${A}${A}", "alphaalpha", nil},
		{"${UNSET:-fallback}", "fallback", nil},
		{"${EMPTY:-fallback}", "fallback", nil},
		{"${A:-fallback}", "alpha", nil},
		{"${UNSET:-}", "", nil},
		{"${EMPTY}", "", nil},
		{"$$", "$", nil},
		{"$${A}", "${A}", nil},
		{"$$$${A}", "$${A}", nil},
		{"pa$word", "pa$word", nil},
		{"cost: 5$", "cost: 5$", nil},
		{"${DOLLAR}", "${A}", nil}, // substituted text is not expanded again
		{"${UNSET:-a:-b}", "a:-b", nil},
		{"${UNSET}", "", []string{"environment variable UNSET is not set"}},
		{"${}", "", []string{`invalid reference: expected ${NAME} or ${NAME:-default}; write "$$" for a literal "$"`}},
		{"${1A}", "", []string{`invalid reference: expected ${NAME} or ${NAME:-default}; write "$$" for a literal "$"`}},
		{"abc${A", "abc", []string{`unterminated "${": write "$$" for a literal "$"`}},
		{"${U1}/${U2}", "/", []string{"environment variable U1 is not set", "environment variable U2 is not set"}},
	}
	for _, tc := range cases {
		got, errs := interpolate(tc.in, env)
		if got != tc.want || !reflect.DeepEqual(errs, tc.errs) {
			t.Errorf("interpolate(%q) = %q, %q; want %q, %q", tc.in, got, errs, tc.want, tc.errs)
		}
	}
}

func TestInterpolationInDocument(t *testing.T) {
	env := baseEnv()
	env["GROUP"] = "g1"
	env["MAX_USERS"] = "250"
	env["TLS_ON"] = "true"
	env["WAIT"] = "250ms"
	// An environment value full of YAML syntax must stay one string.
	env["NASTY"] = "x: y\n- z\nbrokers: [evil]\n{a: b} # c"
	// A secret that YAML would read as a number must stay a string.
	env["NUMERIC_KEY"] = "12e45"
	doc := withOverrides(t, `
kafka:
  group_id: ${GROUP}-$$-${UNSET_SUFFIX:-x}
  tls: {enabled: "${TLS_ON}"}
iterable:
  api_key: ${NUMERIC_KEY}
  attributes: [{from: first_name, to: firstName}, {from: a, to: "${NASTY}"}]
batch: {max_users: "${MAX_USERS}", max_wait: "${WAIT}"}
`)
	c := mustParse(t, doc, env)
	if c.Kafka.GroupID != "g1-$-x" {
		t.Errorf("group_id = %q", c.Kafka.GroupID)
	}
	if !c.Kafka.TLS.Enabled {
		t.Error("tls.enabled: ${TLS_ON}=true did not become a boolean")
	}
	if c.Batch.MaxUsers != 250 || c.Batch.MaxWait != 250*time.Millisecond {
		t.Errorf("batch = %+v", c.Batch)
	}
	if c.Iterable.APIKey != "12e45" {
		t.Errorf("api_key = %q", c.Iterable.APIKey)
	}
	if got := c.Iterable.Attributes[1].To; got != env["NASTY"] {
		t.Errorf("to = %q, want the variable's text verbatim", got)
	}
	if len(c.Kafka.Brokers) != 1 || c.Kafka.Brokers[0] != "127.0.0.1:9092" {
		t.Errorf("brokers = %q: an environment value changed the document", c.Kafka.Brokers)
	}
}

func TestSubstitutedValueTakesTheFieldsType(t *testing.T) {
	env := baseEnv()
	env["N"] = "250"
	env["ON"] = "yes-please"
	doc := []byte(`
sync: {name: s}
kafka: {brokers: ["h:1"], topics: [t], tls: {enabled: "${ON}"}}
redis: {url: "redis://h:6379"}
iterable:
  api_key: ${ITERABLE_API_KEY}
  identifier: {source: email}
  attributes: [{from: x, to: y}]
batch: {max_users: "${N}", max_bytes: "1000"}
telemetry:
  otlp_endpoint: !!str ${N}
`)
	got := problemsOf(t, doc, env)
	// Quoted or not, ${N} into an integer field is an integer ...
	if slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "batch.max_users") }) {
		t.Errorf("batch.max_users: quoted ${N} was not typed as an integer: %q", got)
	}
	// ... while a quoted literal is the user saying "string".
	wantProblem(t, got, "batch.max_bytes: must be an integer, got a string")
	wantProblem(t, got, "kafka.tls.enabled: must be true or false, got a string")
	if len(got) != 2 {
		t.Errorf("want exactly 2 problems, got %q", got)
	}
}

func TestUnsetVariableIsAProblemWithPath(t *testing.T) {
	got := problemsOf(t, withOverrides(t, `redis: {password: "${REDIS_PASSWORD}"}`), nil)
	wantProblem(t, got, "iterable.api_key: environment variable ITERABLE_API_KEY is not set")
	wantProblem(t, got, "redis.password: environment variable REDIS_PASSWORD is not set")
}

func TestEmptyVariableInRequiredPlace(t *testing.T) {
	got := problemsOf(t, withOverrides(t, ""), map[string]string{"ITERABLE_API_KEY": ""})
	wantProblem(t, got, "iterable.api_key: empty")
}
