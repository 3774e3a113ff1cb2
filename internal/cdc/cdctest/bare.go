package cdctest

import (
	"encoding/json"
	"fmt"
)

// BareEnvelope writes what Kafka Connect's JsonConverter writes with
// schemas.enable=false: the Debezium envelope alone, its rows as plain JSON
// (any value encoding/json takes, nested maps for nested objects), with no
// table to declare them.
func BareEnvelope(e Event) ([]byte, error) {
	v, err := json.Marshal(map[string]any{
		"before": nullable(e.Before), "after": nullable(e.After), "op": e.Op, "ts_ms": e.TsMs,
		"source": map[string]any{"connector": "postgresql", "db": "app", "table": "users", "ts_ms": e.SourceTsMs},
	})
	if err != nil {
		return nil, fmt.Errorf("cdctest: bare envelope: %w", err)
	}
	return v, nil
}

// nullable is r, or JSON null for a missing image.
func nullable(r Row) any {
	if r == nil {
		return nil
	}
	return map[string]any(r)
}
