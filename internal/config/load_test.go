package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/ratelimit"
)

func TestLoadFullSpecExample(t *testing.T) {
	t.Setenv("ITERABLE_API_KEY", fakeAPIKey)
	got, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Sync: Sync{Name: "users-to-iterable"},
		Kafka: kafka.Config{
			Brokers:           []string{"127.0.0.1:9092"},
			Topics:            []string{"dbserver1.public.users"},
			GroupID:           "attrsync-users-to-iterable",
			StartOffset:       "earliest",
			SessionTimeout:    10 * time.Second,
			HeartbeatInterval: 3 * time.Second,
		},
		Source: Source{Format: "debezium", OnDelete: "ignore", UnavailableValue: "__debezium_unavailable_value"},
		Redis:  Redis{URL: "redis://127.0.0.1:6379/0", KeyPrefix: "attrsync"},
		Iterable: Iterable{
			Region:          "us",
			APIKey:          fakeAPIKey,
			Mode:            ModeUpsert,
			Identifier:      mapping.Identifier{Source: "email", As: "email"},
			CreateNewFields: true,
			OnEmailChange:   EmailChangeMove,
			Attributes: []mapping.Attribute{
				{From: "first_name", To: "firstName", Type: "auto", Nulls: "send"},
				{From: "plan.tier", To: "planTier", Type: "auto", Nulls: "send"},
				{From: "signup_at", To: "signedUpAt", Type: "date", Unit: "us", Nulls: "send"},
				{From: "phone", To: "phoneNumber", Type: "auto", Nulls: "skip"},
			},
		},
		Batch:         Batch{MaxUsers: 1000, MaxBytes: 4_000_000, MaxWait: time.Second, MaxHeldBytes: 64 << 20},
		RateLimit:     ratelimit.Config{BulkUpdatePerSecond: 5, LookupPerSecond: 100, Share: 1, Scope: ratelimit.ScopeGlobal},
		Retry:         Retry{InitialInterval: 500 * time.Millisecond, MaxInterval: time.Minute},
		DLQ:           DLQ{Topic: "attrsync.users-to-iterable.dlq"},
		ShutdownGrace: 30 * time.Second,
		Telemetry:     Telemetry{Listen: "127.0.0.1:9464", LogLevel: "info", LogFormat: "json"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(full.yaml)\n got %+v\nwant %+v", got, want)
	}
	if u := got.IterableBaseURL(); u != "https://api.iterable.com" {
		t.Errorf("IterableBaseURL = %q", u)
	}
}

func TestMinimalConfigGetsEveryDefault(t *testing.T) {
	data, err := os.ReadFile("testdata/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := mustParse(t, data, baseEnv())

	// Start from what the user wrote; everything else must be the SPEC §1 default.
	want := defaults()
	want.Sync.Name = "users-to-iterable"
	want.Kafka.Brokers = []string{"127.0.0.1:9092"}
	want.Kafka.Topics = []string{"dbserver1.public.users"}
	want.Redis.URL = "redis://127.0.0.1:6379/0"
	want.Iterable.APIKey = fakeAPIKey
	want.Iterable.Identifier.Source = "email"
	want.Iterable.Attributes = []mapping.Attribute{{From: "first_name", To: "firstName", Type: "auto", Nulls: "send"}}
	want.Kafka.GroupID = "attrsync-users-to-iterable"
	want.DLQ.Topic = "attrsync.users-to-iterable.dlq"
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("minimal config\n got %+v\nwant %+v", *got, want)
	}

	// The defaults themselves, spelled out, so a change to defaults() that
	// drifts from SPEC §1 fails here rather than in production.
	checks := []struct {
		name     string
		got, exp any
	}{
		{"kafka.start_offset", got.Kafka.StartOffset, kafka.StartEarliest},
		{"kafka.session_timeout", got.Kafka.SessionTimeout, 10 * time.Second},
		{"kafka.heartbeat_interval", got.Kafka.HeartbeatInterval, 3 * time.Second},
		{"source.format", got.Source.Format, "debezium"},
		{"source.on_delete", got.Source.OnDelete, mapping.OnDeleteIgnore},
		{"source.unavailable_value", got.Source.UnavailableValue, "__debezium_unavailable_value"},
		{"redis.key_prefix", got.Redis.KeyPrefix, "attrsync"},
		{"redis.cluster", got.Redis.Cluster, false},
		{"iterable.region", got.Iterable.Region, "us"},
		{"iterable.mode", got.Iterable.Mode, ModeUpsert},
		{"iterable.identifier.as", got.Iterable.Identifier.As, mapping.AsEmail},
		{"iterable.create_new_fields", got.Iterable.CreateNewFields, true},
		{"iterable.update_only_flag", got.Iterable.UpdateOnlyFlag, false},
		{"iterable.allow_type_conflicts", got.Iterable.AllowTypeConflicts, false},
		{"batch.max_users", got.Batch.MaxUsers, 1000},
		{"batch.max_bytes", got.Batch.MaxBytes, 4_000_000},
		{"batch.max_wait", got.Batch.MaxWait, time.Second},
		{"rate_limit.bulk_update_per_second", got.RateLimit.BulkUpdatePerSecond, 5.0},
		{"rate_limit.lookup_per_second", got.RateLimit.LookupPerSecond, 100.0},
		{"rate_limit.share", got.RateLimit.Share, 1.0},
		{"rate_limit.scope", got.RateLimit.Scope, ratelimit.ScopeGlobal},
		{"retry.initial_interval", got.Retry.InitialInterval, 500 * time.Millisecond},
		{"retry.max_interval", got.Retry.MaxInterval, 60 * time.Second},
		{"retry.max_elapsed", got.Retry.MaxElapsed, time.Duration(0)},
		{"shutdown_grace", got.ShutdownGrace, 30 * time.Second},
		{"telemetry.listen", got.Telemetry.Listen, "127.0.0.1:9464"},
		{"telemetry.log_level", got.Telemetry.LogLevel, "info"},
		{"telemetry.log_format", got.Telemetry.LogFormat, "json"},
		{"attribute type", got.Iterable.Attributes[0].Type, mapping.TypeAuto},
		{"attribute nulls", got.Iterable.Attributes[0].Nulls, mapping.NullsSend},
	}
	for _, c := range checks {
		if c.got != c.exp {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.exp)
		}
	}
}

func TestExplicitValuesOverrideDefaults(t *testing.T) {
	c := mustParse(t, withOverrides(t, `
kafka: {group_id: custom-group}
iterable:
  create_new_fields: false
  attributes: [{from: ts, to: ts, type: date}]
dlq: {topic: my.dlq}
retry: {max_elapsed: 10m}
`), baseEnv())
	if c.Iterable.CreateNewFields {
		t.Error("create_new_fields: false was overridden by the default true")
	}
	if c.Kafka.GroupID != "custom-group" || c.DLQ.Topic != "my.dlq" {
		t.Errorf("group_id %q, dlq.topic %q", c.Kafka.GroupID, c.DLQ.Topic)
	}
	if c.Iterable.Attributes[0].Unit != "ms" {
		t.Errorf("date unit default = %q, want ms", c.Iterable.Attributes[0].Unit)
	}
	if c.Retry.MaxElapsed != 10*time.Minute {
		t.Errorf("max_elapsed = %v", c.Retry.MaxElapsed)
	}
}

func TestNullValueMeansDefault(t *testing.T) {
	c := mustParse(t, withOverrides(t, "source: {format: null}\niterable: {create_new_fields: ~}\n"), baseEnv())
	if c.Source.Format != "debezium" || !c.Iterable.CreateNewFields {
		t.Errorf("format %q create_new_fields %v", c.Source.Format, c.Iterable.CreateNewFields)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want fs.ErrNotExist", err)
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		t.Error("an unreadable file is not a ValidationError")
	}
}

func TestLoadWrapsValidationError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(path, []byte("sync: {name: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error does not name the file: %v", err)
	}
}

func TestYAMLLevelProblems(t *testing.T) {
	cases := []struct {
		name, doc, want string
	}{
		{"syntax", "sync:\n  name: a\n b: [\n", "invalid YAML: line 2: did not find expected key"},
		{"empty", "", "the file is empty"},
		{"comments only", "# nothing\n", "the file is empty"},
		{"two documents", "sync: {name: a}\n---\nsync: {name: b}\n", "only one YAML document is allowed; another starts at line 2"},
		{"not a mapping", "- a\n- b\n", "must be a mapping, got a list"},
		{"duplicate key", "sync: {name: a}\nsync: {name: b}\n", "sync: duplicate key (line 2, first at line 1)"},
		{"merge key", "x: &x {name: a}\nsync:\n  <<: *x\n", "sync.<<: merge keys (<<) are not supported (line 3)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, problemsOf(t, []byte(tc.doc), nil), tc.want)
		})
	}
}

func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	got := problemsOf(t, []byte(b.String()), nil)
	wantProblem(t, got, "document too large: more than 100000 values once aliases are expanded")
}

func TestAliasesWork(t *testing.T) {
	// An anchor defined in one value and reused in another is expanded once.
	doc := `
sync: {name: s}
kafka:
  brokers: &b ["h:1"]
  topics: [t]
redis: {url: "redis://h:6379"}
iterable:
  api_key: &k "a$$b"
  identifier: {source: email}
  attributes: [{from: x, to: y}]
telemetry: {otlp_endpoint: *k}
`
	c := mustParse(t, []byte(doc), nil)
	if c.Iterable.APIKey != "a$b" || c.Telemetry.OTLPEndpoint != "a$b" {
		t.Errorf("api_key %q, otlp_endpoint %q: an aliased scalar must be expanded exactly once", c.Iterable.APIKey, c.Telemetry.OTLPEndpoint)
	}
}

// An unset variable is one mistake and gets one problem, not a second
// "empty" from the schema for the value it left behind.
func TestUnsetVariableIsReportedOnce(t *testing.T) {
	data := []byte(`
sync: {name: users}
kafka: {brokers: ["127.0.0.1:9092"], topics: ["users"]}
redis: {url: "redis://127.0.0.1:6379/0"}
iterable:
  api_key: ${NOT_SET_ANYWHERE}
  identifier: {source: email}
  attributes: [{from: a, to: b}]
`)
	_, err := Parse(data, envOf(nil))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	if len(verr.Problems) != 1 || verr.Problems[0].Path != "iterable.api_key" || !strings.Contains(verr.Problems[0].Message, "NOT_SET_ANYWHERE") {
		t.Fatalf("problems %v, want one naming the unset variable", verr.Problems)
	}
}
