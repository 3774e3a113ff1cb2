package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// APIKeyEnv is the variable a written config reads the Iterable API key
// from, as a deployment would pass it.
const APIKeyEnv = "ITERABLE_API_KEY"

// SyncConfig is a sync's configuration as tests vary it. YAML renders it as
// a user would write the file, so every test runs a config that went
// through the real loader and its validation. Zero fields keep the
// defaults tests want (small, fast batches); Extra adds what has no field.
type SyncConfig struct {
	Name    string   // sync.name; "itest" when empty
	Group   string   // kafka.group_id; the default (attrsync-<name>) when empty
	Brokers []string // kafka.brokers
	Topics  []string // kafka.topics
	// Kafka is YAML added under kafka: (TLS, SASL), each line indented
	// by two spaces.
	Kafka string

	RedisURL     string
	RedisCluster bool

	IterableURL string
	// APIKey is written into the file when set; otherwise the file reads
	// ${ITERABLE_API_KEY} and Parse supplies the key.
	APIKey string
	// Mapping is iterable.identifier and iterable.attributes; StreamMapping
	// when empty.
	Mapping string
	// Iterable is YAML added under iterable: (mode, flags), each line
	// indented by two spaces.
	Iterable string

	MaxUsers      int           // batch.max_users; 50
	MaxWait       time.Duration // batch.max_wait; 20ms
	BulkPerSecond float64       // rate_limit.bulk_update_per_second; 40
	Scope         string        // rate_limit.scope; "local" (one process), or "global"
	RetryInitial  time.Duration // retry.initial_interval; 20ms
	RetryMax      time.Duration // retry.max_interval; 500ms
	DLQTopic      string        // dlq.topic; the default when empty
	ShutdownGrace time.Duration // 10s
	// Telemetry is the telemetry section's flow mapping, such as
	// `{listen: "127.0.0.1:0", log_level: debug}`; empty leaves it out.
	Telemetry string
	// Extra are further top-level YAML lines, such as
	// "retry: {max_elapsed: 400ms}" (a section given here replaces the one
	// the fields above would write).
	Extra []string
}

// Add adds YAML lines: those indented by two spaces go under iterable:,
// the others at top level, each replacing the section of its key.
func (c *SyncConfig) Add(lines ...string) {
	for _, x := range lines {
		if strings.HasPrefix(x, "  ") {
			c.Iterable += x + "\n"
		} else {
			c.Extra = append(c.Extra, x)
		}
	}
}

// YAML renders the config file.
func (c SyncConfig) YAML() string {
	name := or(c.Name, "itest")
	var b strings.Builder
	fmt.Fprintf(&b, "sync: {name: %s}\n", name)
	fmt.Fprintf(&b, "kafka:\n  brokers: [%s]\n  topics: [%s]\n", quoteAll(c.Brokers), quoteAll(c.Topics))
	if c.Group != "" {
		fmt.Fprintf(&b, "  group_id: %s\n", c.Group)
	}
	b.WriteString("  session_timeout: 6s\n  heartbeat_interval: 1s\n")
	b.WriteString(c.Kafka)
	fmt.Fprintf(&b, "redis: {url: %q, cluster: %t}\n", c.RedisURL, c.RedisCluster)
	key := "${" + APIKeyEnv + "}"
	if c.APIKey != "" {
		key = c.APIKey
	}
	fmt.Fprintf(&b, "iterable:\n  base_url: %q\n  api_key: %s\n", c.IterableURL, key)
	b.WriteString(or(c.Mapping, StreamMapping))
	b.WriteString(c.Iterable)
	sections := map[string]string{
		"batch": fmt.Sprintf("batch: {max_users: %d, max_wait: %s}", orInt(c.MaxUsers, 50), orDur(c.MaxWait, 20*time.Millisecond)),
		"rate_limit": fmt.Sprintf("rate_limit: {bulk_update_per_second: %s, lookup_per_second: 100, scope: %s}",
			strconv.FormatFloat(orFloat(c.BulkPerSecond, 40), 'g', -1, 64), or(c.Scope, "local")),
		"retry":          fmt.Sprintf("retry: {initial_interval: %s, max_interval: %s}", orDur(c.RetryInitial, 20*time.Millisecond), orDur(c.RetryMax, 500*time.Millisecond)),
		"shutdown_grace": fmt.Sprintf("shutdown_grace: %s", orDur(c.ShutdownGrace, 10*time.Second)),
	}
	if c.DLQTopic != "" {
		sections["dlq"] = fmt.Sprintf("dlq: {topic: %q}", c.DLQTopic)
	}
	if c.Telemetry != "" {
		sections["telemetry"] = "telemetry: " + c.Telemetry
	}
	for _, x := range c.Extra {
		key, _, _ := strings.Cut(x, ":")
		sections[strings.TrimSpace(key)] = x
	}
	for _, key := range []string{"batch", "rate_limit", "retry", "dlq", "shutdown_grace", "telemetry"} {
		if v, ok := sections[key]; ok {
			b.WriteString(v + "\n")
			delete(sections, key)
		}
	}
	for _, x := range c.Extra {
		key, _, _ := strings.Cut(x, ":")
		if _, left := sections[strings.TrimSpace(key)]; left {
			b.WriteString(x + "\n")
		}
	}
	return b.String()
}

// Env is a lookup of environment variables holding only the API key, for
// config.Parse (testenv itself stays below internal/config: the packages
// config composes test with testenv).
func Env(apiKey string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == APIKeyEnv {
			return apiKey, true
		}
		return "", false
	}
}

// Write writes the config file into dir and returns its path.
func (c SyncConfig) Write(t testing.TB, dir, file string) string {
	t.Helper()
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, []byte(c.YAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func orInt(n, def int) int {
	if n == 0 {
		return def
	}
	return n
}

func orFloat(f, def float64) float64 {
	if f == 0 {
		return def
	}
	return f
}

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}
