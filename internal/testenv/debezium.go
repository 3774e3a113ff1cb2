package testenv

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// Row is a users-table row as a test writes it.
type Row map[string]any

// Upsert is a Debezium change event (op "u", or "c" when create is set)
// for row, keyed by its id, in the bare envelope form (no schema wrapper).
func Upsert(id int, row Row) change.Message {
	return envelope(id, "u", nil, row)
}

// Delete is a Debezium delete event for the row with id; before is the
// row as it was.
func Delete(id int, before Row) change.Message {
	return envelope(id, "d", before, nil)
}

// Raw is a message with the given value under the key of id, for bad input.
func Raw(id int, value string) change.Message {
	return change.Message{Key: key(id), Value: []byte(value)}
}

func key(id int) []byte { return fmt.Appendf(nil, `{"id":%d}`, id) }

func envelope(id int, op string, before, after Row) change.Message {
	ts := time.Now().UnixMilli()
	v, err := json.Marshal(map[string]any{
		"before": before, "after": after, "op": op, "ts_ms": ts,
		"source": map[string]any{"connector": "postgresql", "db": "app", "table": "users", "ts_ms": ts},
	})
	if err != nil {
		panic(err) // rows are built by tests from plain values
	}
	return change.Message{Key: key(id), Value: v}
}
