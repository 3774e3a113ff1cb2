package kafka

import "time"

// Config is how a sync reaches its brokers and consumes its topics (the
// kafka: section of a sync's configuration, which internal/config loads
// and validates).
type Config struct {
	Brokers     []string    `yaml:"brokers"`
	Topics      []string    `yaml:"topics"`
	GroupID     string      `yaml:"group_id"`
	StartOffset StartOffset `yaml:"start_offset"`
	// SessionTimeout is how soon a crashed member's partitions move to
	// another member; HeartbeatInterval must be shorter.
	SessionTimeout    time.Duration `yaml:"session_timeout"`
	HeartbeatInterval time.Duration `yaml:"heartbeat_interval"`
	TLS               TLSConfig     `yaml:"tls"`
	SASL              SASLConfig    `yaml:"sasl"`
}

// StartOffset says where a group without committed offsets starts.
type StartOffset string

// The start offsets of kafka.start_offset.
const (
	StartEarliest StartOffset = "earliest"
	StartLatest   StartOffset = "latest"
)

// TLSConfig configures transport security towards the brokers.
type TLSConfig struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASLConfig configures broker authentication. Password is a secret.
type SASLConfig struct {
	Mechanism SASLMechanism `yaml:"mechanism"`
	Username  string        `yaml:"username"`
	Password  string        `yaml:"password"`
}

// SASLMechanism names a SASL mechanism; empty means none.
type SASLMechanism string

// The mechanisms of kafka.sasl.mechanism.
const (
	SASLPlain       SASLMechanism = "PLAIN"
	SASLScramSHA256 SASLMechanism = "SCRAM-SHA-256"
	SASLScramSHA512 SASLMechanism = "SCRAM-SHA-512"
)
