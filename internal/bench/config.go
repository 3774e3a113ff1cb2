package bench

import (
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/config"
)

const (
	// syncName is shared by every scenario so they all diff against the
	// state the warm-up wrote.
	syncName = "bench"
	apiKey   = "bench-0123456789abcdef"
)

// syncSpec is what differs between the scenarios' configurations.
type syncSpec struct {
	// name is sync.name; syncName when empty.
	name     string
	brokers  []string
	topic    string
	group    string
	redisURL string
	iterURL  string
	// bulkPerSecond is rate_limit.bulk_update_per_second; scope is
	// rate_limit.scope.
	bulkPerSecond float64
	scope         string
	maxWait       time.Duration
}

// syncYAML is the sync every scenario runs: ten mapped attributes of the
// generated users table, max_users 1000 (Iterable's own ceiling).
const syncYAML = `
sync: {name: %s}
kafka:
  brokers: [%q]
  topics: [%q]
  group_id: %q
  start_offset: earliest
  session_timeout: 6s
  heartbeat_interval: 1s
source: {format: debezium}
redis: {url: %q}
iterable:
  base_url: %q
  api_key: %s
  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: last_name, to: lastName}
    - {from: city, to: city}
    - {from: country, to: countryCode}
    - {from: plan, to: planTier}
    - {from: seats, to: seats, type: number}
    - {from: active, to: active, type: boolean}
    - {from: version, to: version, type: number}
    - {from: score, to: score, type: number}
    - {from: signup_at, to: signedUpAt, type: date}
batch: {max_users: 1000, max_wait: %s}
rate_limit: {bulk_update_per_second: %g, scope: %s}
retry: {initial_interval: 50ms, max_interval: 2s}
shutdown_grace: 10s
`

// attributeCount is the number of attributes syncYAML maps.
const attributeCount = 10

// yaml is the config file of the sync.
func (s syncSpec) yaml() string {
	name := s.name
	if name == "" {
		name = syncName
	}
	return fmt.Sprintf(syncYAML, name, s.brokers[0], s.topic, s.group, s.redisURL, s.iterURL, apiKey,
		s.maxWait, s.bulkPerSecond, s.scope)
}

func (s syncSpec) config() (*config.Config, error) {
	cfg, err := config.Parse([]byte(s.yaml()), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("bench config: %w", err)
	}
	return cfg, nil
}
