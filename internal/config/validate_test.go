package config

import (
	"github.com/attrsync/attrsync/internal/mapping"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBadConfigListsEveryProblemInDocumentOrder(t *testing.T) {
	doc := `sync:
  name: "users to iterable"
kafka:
  brokerz: ["127.0.0.1:9092"]
  topics: []
  start_offset: newest
  session_timeout: 10
  heartbeat_interval: 3s
source:
  format: xml
redis:
  url: http://127.0.0.1:6379
iterable:
  api_key: ${ITERABLE_API_KEY}
  mode: update
  identifier: {source: email, as: phone}
  update_only_flag: true
  attributes:
    - { from: first_name, to: firstName }
    - { from: last_name, to: firstName }
    - { from: plan, to: "" }
    - { from: signup_at, to: signedUpAt, type: string, unit: us }
batch:
  max_bytes: 5000000
rate_limit:
  share: 1.5
`
	got := problemsOf(t, []byte(doc), baseEnv())
	want := []string{
		`sync.name: may contain only letters, digits, ".", "_" and "-", got "users to iterable"`,
		`kafka.brokers: required`, // a missing key sorts at its parent's line
		`kafka.brokerz: unknown key (line 4); did you mean brokers?`,
		`kafka.topics: empty: at least 1 entry is required`,
		`kafka.start_offset: must be one of earliest, latest, got "newest"`,
		`kafka.session_timeout: must be a Go duration such as 500ms, 1s or 10m (0 for none), got "10"`,
		`source.format: must be one of debezium, flat, json, avro, protobuf, got "xml"`,
		`redis.url: scheme must be redis:// or rediss:// (TLS)`,
		`iterable.identifier.as: must be one of email, userId, got "phone"`,
		`iterable.attributes[1].to: "firstName" is already the target of iterable.attributes[0]`,
		`iterable.attributes[2].to: empty`,
		`iterable.attributes[3].unit: only allowed with type date`,
		`batch.max_bytes: must be at most 4000000`,
		`rate_limit.share: must be at most 1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestTargets(t *testing.T) {
	for _, target := range iterableManagedFields() {
		t.Run("reserved "+target, func(t *testing.T) {
			got := problemsOf(t, withOverrides(t, `iterable: {attributes: [{from: a, to: ok}, {from: b, to: `+target+`}]}`), baseEnv())
			wantProblem(t, got, `iterable.attributes[1].to: "`+target+`" is managed by Iterable and cannot be a target`)
		})
	}
	t.Run("duplicate", func(t *testing.T) {
		got := problemsOf(t, withOverrides(t, `iterable: {attributes: [{from: a, to: x}, {from: b, to: y}, {from: c, to: x}, {from: d, to: x}]}`), baseEnv())
		wantProblem(t, got, `iterable.attributes[2].to: "x" is already the target of iterable.attributes[0]`)
		wantProblem(t, got, `iterable.attributes[3].to: "x" is already the target of iterable.attributes[0]`)
		if len(got) != 2 {
			t.Errorf("want 2 problems, got %q", got)
		}
	})
	t.Run("same source twice is fine", func(t *testing.T) {
		mustParse(t, withOverrides(t, `iterable: {attributes: [{from: a, to: x}, {from: a, to: y}]}`), baseEnv())
	})
}

func TestSemanticChecks(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.pem")
	cases := []struct {
		name, override, want string
	}{
		{"heartbeat not below session", `kafka: {session_timeout: 3s, heartbeat_interval: 3s}`,
			"kafka.heartbeat_interval: must be shorter than kafka.session_timeout (3s)"},
		{"zero session timeout", `kafka: {session_timeout: 0}`, "kafka.session_timeout: must be greater than 0"},
		{"update_only_flag in upsert", `iterable: {update_only_flag: true}`,
			"iterable.update_only_flag: only allowed with iterable.mode update"},
		{"unit without type", `iterable: {attributes: [{from: a, to: b, unit: s}]}`,
			"iterable.attributes[0].unit: only allowed with type date"},
		{"sasl without username", `kafka: {sasl: {mechanism: PLAIN, password: pw}}`,
			"kafka.sasl.username: required with mechanism PLAIN"},
		{"sasl without password", `kafka: {sasl: {mechanism: SCRAM-SHA-512, username: u}}`,
			"kafka.sasl.password: required with mechanism SCRAM-SHA-512"},
		{"sasl credentials without mechanism", `kafka: {sasl: {username: u, password: pw}}`,
			"kafka.sasl.mechanism: required when kafka.sasl.username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)"},
		{"bad sasl mechanism", `kafka: {sasl: {mechanism: GSSAPI}}`,
			`kafka.sasl.mechanism: must be one of "", PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, got "GSSAPI"`},
		{"tls file missing", `kafka: {tls: {enabled: true, ca_file: ` + missing + `}}`,
			"kafka.tls.ca_file: file " + missing + " does not exist"},
		{"tls cert without key", `kafka: {tls: {enabled: true, ca_file: ` + ca + `, cert_file: ` + ca + `}}`,
			"kafka.tls.key_file: required with kafka.tls.cert_file"},
		{"redis url unparsable", `redis: {url: "redis://h:port/0"}`, "redis.url: not a valid URL"},
		{"redis url db", `redis: {url: "redis://h:6379/x"}`, "redis.url: the path must be a database number such as /0"},
		{"redis url no host", `redis: {url: "redis:///0"}`, "redis.url: missing host"},
		{"base_url relative", `iterable: {base_url: /api}`, "iterable.base_url: must be an absolute http:// or https:// URL"},
		{"base_url scheme", `iterable: {base_url: "ftp://x"}`, "iterable.base_url: must be an absolute http:// or https:// URL"},
		{"broker without port", `kafka: {brokers: [localhost]}`, `kafka.brokers[0]: must be host:port, got "localhost"`},
		{"duplicate broker", `kafka: {brokers: ["h:1", "h:2", "h:1"]}`, "kafka.brokers[2]: duplicate of kafka.brokers[0]"},
		{"empty broker", `kafka: {brokers: [""]}`, "kafka.brokers[0]: empty"},
		{"max_users zero", `batch: {max_users: 0}`, "batch.max_users: must be at least 1"},
		{"share zero", `rate_limit: {share: 0}`, "rate_limit.share: must be greater than 0"},
		{"unknown scope", `rate_limit: {scope: cluster}`, `rate_limit.scope: must be one of global, local, got "cluster"`},
		{"negative duration", `retry: {max_elapsed: -1s}`,
			`retry.max_elapsed: must be a Go duration such as 500ms, 1s or 10m (0 for none), got "-1s"`},
		{"initial above max", `retry: {initial_interval: 2m}`,
			"retry.initial_interval: must not exceed retry.max_interval (1m0s)"},
		{"bad field path", `iterable: {attributes: [{from: plan..tier, to: t}]}`,
			`iterable.attributes[0].from: invalid field path "plan..tier": empty segment`},
		{"wrong type", `kafka: {topics: topic}`, "kafka.topics: must be a list, got a string"},
		{"bad listen", `telemetry: {listen: "9464"}`, `telemetry.listen: must be host:port, got "9464"`},
		{"bad topic", `dlq: {topic: "a/b"}`, `dlq.topic: may contain only letters, digits, ".", "_" and "-", got "a/b"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, problemsOf(t, withOverrides(t, tc.override), baseEnv()), tc.want)
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	doc := `sync: {name: s}
kafka: {brokers: ["h:1"], topics: [t], groupId: g}
redis: {url: "redis://h:6379"}
iterable:
  api_key: k
  identifier: {sourcee: email}
  attributes: [{from: x, to: y, null: skip}]
metrics: {}
`
	got := problemsOf(t, []byte(doc), nil)
	want := []string{
		"kafka.groupId: unknown key (line 2); did you mean group_id?",
		"iterable.identifier.source: required",
		"iterable.identifier.sourcee: unknown key (line 6); did you mean source?",
		"iterable.attributes[0].null: unknown key (line 7); did you mean nulls?",
		"metrics: unknown key (line 8)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("problems\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestValidVariants(t *testing.T) {
	dir := t.TempDir()
	pem := filepath.Join(dir, "f.pem")
	if err := os.WriteFile(pem, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, override := range []string{
		`iterable: {mode: update, update_only_flag: true}`,
		`iterable: {region: eu, identifier: {source: id, as: userId}}`,
		`iterable: {base_url: "http://127.0.0.1:8080/"}`,
		`kafka: {tls: {enabled: true, ca_file: ` + pem + `, cert_file: ` + pem + `, key_file: ` + pem + `}}`,
		`kafka: {sasl: {mechanism: SCRAM-SHA-256, username: u, password: p}}`,
		`redis: {url: "rediss://user:pw@redis.internal:6380/3", cluster: true}`,
		`retry: {max_elapsed: 1h30m}`,
		`source: {format: flat, on_delete: unset}`,
		`rate_limit: {share: 0.25, scope: local, bulk_update_per_second: 2.5}`,
		`telemetry: {listen: ":9464", log_level: debug, log_format: text}`,
		`iterable: {attributes: [{from: a.b.c, to: x, type: date, unit: days, nulls: skip}, {from: o, to: y, type: object}]}`,
	} {
		t.Run(override, func(t *testing.T) {
			mustParse(t, withOverrides(t, override), baseEnv())
		})
	}
}

func TestSecretsNeverAppearInErrors(t *testing.T) {
	const (
		redisPW = "REDISPW-s3cr3t-DO-NOT-LEAK"
		saslPW  = "SASLPW-s3cr3t-DO-NOT-LEAK"
	)
	cases := map[string]string{
		"invalid everything else": `
kafka: {brokers: [nope], sasl: {password: "` + saslPW + `"}}
redis: {url: "ftp://u:` + redisPW + `@h:1/0", password: "` + redisPW + `"}
iterable: {api_key: "` + fakeAPIKey + `", mode: bogus}
`,
		"api key of wrong type":       `iterable: {api_key: ["` + fakeAPIKey + `"]}`,
		"broken reference in secret":  `iterable: {api_key: "` + fakeAPIKey + `${"}`,
		"bad name reference":          `iterable: {api_key: "${` + fakeAPIKey + `}"}`,
		"unparsable redis url":        `redis: {url: "redis://u:` + redisPW + `@h:port/0"}`,
		"redis url bad db":            `redis: {url: "redis://u:` + redisPW + `@h:1/db"}`,
		"redis url as wrong type":     `redis: {url: {x: "` + redisPW + `"}}`,
		"secret in sasl w/o mech":     `kafka: {sasl: {username: u, password: "` + saslPW + `"}}`,
		"redis password of bad type":  `redis: {password: {p: "` + redisPW + `"}}`,
		"secret from the environment": `iterable: {api_key: "${ITERABLE_API_KEY}", region: mars}`,
	}
	for name, override := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(withOverrides(t, override), envOf(baseEnv()))
			if err == nil {
				t.Fatal("config accepted")
			}
			msg := err.Error()
			for _, s := range []string{fakeAPIKey, redisPW, saslPW, "s3cr3t", "0123456789abcdef"} {
				if strings.Contains(msg, s) {
					t.Errorf("error leaks %q:\n%s", s, msg)
				}
			}
		})
	}
}

func TestProblemString(t *testing.T) {
	if s := (Problem{Path: "a.b[2].c", Message: "empty"}).String(); s != "a.b[2].c: empty" {
		t.Errorf("String() = %q", s)
	}
	err := &ValidationError{Problems: []Problem{{"a", "x"}, {"b", "y"}}}
	if got, want := err.Error(), "invalid config (2 problems):\n  a: x\n  b: y"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestOnDeleteAndEmailChangeValues checks the values of the two keys that
// decide what deletes and email changes do, and their defaults.
func TestOnDeleteAndEmailChangeValues(t *testing.T) {
	c := mustParse(t, withOverrides(t, `source: {on_delete: delete}`), baseEnv())
	if c.Source.OnDelete != mapping.OnDeleteDelete || c.Iterable.OnEmailChange != EmailChangeMove {
		t.Errorf("on_delete %q, on_email_change %q (default): want delete, move", c.Source.OnDelete, c.Iterable.OnEmailChange)
	}
	c = mustParse(t, withOverrides(t, `iterable: {on_email_change: new_profile}`), baseEnv())
	if c.Iterable.OnEmailChange != EmailChangeNewProfile {
		t.Errorf("on_email_change %q, want new_profile", c.Iterable.OnEmailChange)
	}
	for _, bad := range []string{`source: {on_delete: remove}`, `iterable: {on_email_change: merge}`} {
		if got := problemsOf(t, withOverrides(t, bad), baseEnv()); len(got) == 0 {
			t.Errorf("%s accepted", bad)
		}
	}
}
