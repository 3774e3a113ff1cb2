package config

import (
	"time"

	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/ratelimit"
)

// Default values of SPEC §1. Those derived from other values (kafka.group_id,
// dlq.topic) and those inside list entries (attribute type, nulls, unit) are
// filled in by applyDerivedDefaults after decoding.
const (
	defSessionTimeout    = 10 * time.Second
	defHeartbeatInterval = 3 * time.Second
	defSourceFormat      = "debezium"
	defOnDelete          = mapping.OnDeleteIgnore
	defUnavailableValue  = mapping.DefaultUnavailableValue
	defRedisKeyPrefix    = "attrsync"
	defRegion            = "us"
	defIdentifierAs      = mapping.AsEmail
	defMaxUsers          = 1000
	defMaxBytes          = 4_000_000 // Iterable rejects request bodies over 4 MB
	defMaxWait           = time.Second
	defMaxHeldBytes      = 64 << 20 // see README, "Memory"
	defBulkUpdatePerSec  = 5.0      // Iterable: per project, shared by every instance
	defLookupPerSec      = 100.0    // Iterable: getByEmail / byUserId, per project
	defShare             = 1.0
	defRateScope         = ratelimit.ScopeGlobal
	defRetryInitial      = 500 * time.Millisecond
	defRetryMax          = 60 * time.Second
	defShutdownGrace     = 30 * time.Second
	defTelemetryListen   = "127.0.0.1:9464"
	defLogLevel          = "info"
	defLogFormat         = "json"
	defAttributeType     = mapping.TypeAuto
	defAttributeNulls    = mapping.NullsSend
	defAttributeDateUnit = mapping.UnitMillis
	defGroupIDPrefix     = "attrsync-"
	defDLQTopicPrefix    = "attrsync."
	defDLQTopicSuffix    = ".dlq"
)

// defaults returns a Config holding every fixed default. The document is
// decoded on top of it, so a key that is present overrides its default and an
// absent key keeps it. That is also how create_new_fields defaults to true: a
// zero-value check after decoding could not tell "false" from "absent".
func defaults() Config {
	return Config{
		Kafka: kafka.Config{
			StartOffset:       kafka.StartEarliest,
			SessionTimeout:    defSessionTimeout,
			HeartbeatInterval: defHeartbeatInterval,
		},
		Source: Source{Format: defSourceFormat, OnDelete: defOnDelete, UnavailableValue: defUnavailableValue},
		Redis:  Redis{KeyPrefix: defRedisKeyPrefix},
		Iterable: Iterable{
			Region:          defRegion,
			Mode:            ModeUpsert,
			Identifier:      mapping.Identifier{As: defIdentifierAs},
			CreateNewFields: true,
			OnEmailChange:   EmailChangeMove,
		},
		Batch: Batch{MaxUsers: defMaxUsers, MaxBytes: defMaxBytes, MaxWait: defMaxWait, MaxHeldBytes: defMaxHeldBytes},
		RateLimit: ratelimit.Config{
			BulkUpdatePerSecond: defBulkUpdatePerSec,
			LookupPerSecond:     defLookupPerSec,
			Share:               defShare,
			Scope:               defRateScope,
		},
		Retry:         Retry{InitialInterval: defRetryInitial, MaxInterval: defRetryMax},
		ShutdownGrace: defShutdownGrace,
		Telemetry: Telemetry{
			Listen:    defTelemetryListen,
			LogLevel:  defLogLevel,
			LogFormat: defLogFormat,
		},
	}
}

// applyDerivedDefaults fills the defaults that depend on other values or live
// inside list entries. An empty group_id or dlq.topic also takes the default,
// so `${KAFKA_GROUP:-}` works as "the default unless set".
func applyDerivedDefaults(c *Config) {
	if c.Kafka.GroupID == "" {
		c.Kafka.GroupID = defGroupIDPrefix + c.Sync.Name
	}
	if c.DLQ.Topic == "" {
		c.DLQ.Topic = defDLQTopicPrefix + c.Sync.Name + defDLQTopicSuffix
	}
	for i := range c.Iterable.Attributes {
		a := &c.Iterable.Attributes[i]
		if a.Type == "" {
			a.Type = defAttributeType
		}
		if a.Nulls == "" {
			a.Nulls = defAttributeNulls
		}
		// The unit only means something for dates; leaving it empty elsewhere
		// keeps "unit only with type date" visible to the validator.
		if a.Unit == "" && a.Type == mapping.TypeDate {
			a.Unit = defAttributeDateUnit
		}
	}
}
