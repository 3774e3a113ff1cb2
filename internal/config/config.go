// Package config loads, defaults and validates an attrsync sync definition
// (one YAML file per sync, SPEC §1).
package config

import (
	"time"

	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/ratelimit"
)

// Config is one sync: where changes come from, how they map onto Iterable
// user fields, and how they are delivered.
type Config struct {
	Sync          Sync             `yaml:"sync"`
	Kafka         kafka.Config     `yaml:"kafka"`
	Source        Source           `yaml:"source"`
	Redis         Redis            `yaml:"redis"`
	Iterable      Iterable         `yaml:"iterable"`
	Batch         Batch            `yaml:"batch"`
	RateLimit     ratelimit.Config `yaml:"rate_limit"`
	Retry         Retry            `yaml:"retry"`
	DLQ           DLQ              `yaml:"dlq"`
	ShutdownGrace time.Duration    `yaml:"shutdown_grace"`
	Telemetry     Telemetry        `yaml:"telemetry"`
}

// Sync names the sync; the name namespaces state, the default group and metrics.
type Sync struct {
	Name string `yaml:"name"`
}

// Source says how message values are shaped.
type Source struct {
	Format         string           `yaml:"format"` // debezium | flat | json | avro | protobuf
	SchemaRegistry SchemaRegistry   `yaml:"schema_registry"`
	OnDelete       mapping.OnDelete `yaml:"on_delete"`
	// UnavailableValue is the placeholder the source writes for a value it
	// could not read (Debezium's unchanged TOASTed columns); such a value
	// is "not present". "" turns the rule off.
	UnavailableValue string `yaml:"unavailable_value"`
}

// Redis is where per-user state lives. Password is a secret, and so is any
// password inside URL.
type Redis struct {
	URL       string `yaml:"url"`
	Password  string `yaml:"password"`
	KeyPrefix string `yaml:"key_prefix"`
	Cluster   bool   `yaml:"cluster"`
}

// Iterable is the destination. APIKey is a secret.
type Iterable struct {
	Region             string             `yaml:"region"` // us | eu
	BaseURL            string             `yaml:"base_url"`
	APIKey             string             `yaml:"api_key"`
	Mode               Mode               `yaml:"mode"`
	Identifier         mapping.Identifier `yaml:"identifier"`
	PreferUserID       bool               `yaml:"prefer_user_id"`
	MergeNestedObjects bool               `yaml:"merge_nested_objects"`
	CreateNewFields    bool               `yaml:"create_new_fields"`
	UpdateOnlyFlag     bool               `yaml:"update_only_flag"`
	AllowTypeConflicts bool               `yaml:"allow_type_conflicts"` // start although getFields shows a mapped field of another type
	// OnEmailChange says what a row whose email changed does under
	// identifier.as email: move the profile (users/updateEmail), or write
	// to a new profile under the new email and leave the old one.
	OnEmailChange EmailChange         `yaml:"on_email_change"`
	Attributes    []mapping.Attribute `yaml:"attributes"`
}

// Mapping is the part of the config the mapper compiles.
func (c *Config) Mapping() mapping.Config {
	return mapping.Config{
		Identifier:       c.Iterable.Identifier,
		Attributes:       c.Iterable.Attributes,
		OnDelete:         c.Source.OnDelete,
		UnavailableValue: c.Source.UnavailableValue,
	}
}

// Batch bounds one bulkUpdate request and how long a change may wait, and
// how much of the backlog a process holds in memory.
type Batch struct {
	MaxUsers int           `yaml:"max_users"`
	MaxBytes int           `yaml:"max_bytes"`
	MaxWait  time.Duration `yaml:"max_wait"`
	// MaxHeldBytes bounds the fetched messages not yet finished, wherever
	// they are in the pipeline; when it is reached, fetching stops.
	MaxHeldBytes int64 `yaml:"max_held_bytes"`
}

// Retry shapes the backoff for transient Iterable failures.
type Retry struct {
	InitialInterval time.Duration `yaml:"initial_interval"`
	MaxInterval     time.Duration `yaml:"max_interval"`
	MaxElapsed      time.Duration `yaml:"max_elapsed"` // 0: retry until success
}

// DLQ names the dead-letter topic.
type DLQ struct {
	Topic string `yaml:"topic"`
}

// Telemetry configures metrics, traces and logs.
type Telemetry struct {
	Listen       string `yaml:"listen"`
	OTLPEndpoint string `yaml:"otlp_endpoint"`
	LogLevel     string `yaml:"log_level"`
	LogFormat    string `yaml:"log_format"`
}

// EmailChange says what a row whose email changed does under
// identifier.as email.
type EmailChange string

// The values of iterable.on_email_change.
const (
	EmailChangeMove       EmailChange = "move"
	EmailChangeNewProfile EmailChange = "new_profile"
)

// Mode is the delivery mode: whether users absent from Iterable are created.
type Mode string

// The two delivery modes of iterable.mode.
const (
	ModeUpsert Mode = "upsert"
	ModeUpdate Mode = "update"
)
