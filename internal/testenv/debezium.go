package testenv

import (
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
)

// Row is a users-table row as a test writes it.
type Row map[string]any

// Upsert is a Debezium update event (op "u") carrying row as "after",
// keyed by id, in the bare envelope form (no schema wrapper), written by
// cdctest like every test, demo and bench stream.
func Upsert(id int, row Row) change.Message {
	ts := time.Now().UnixMilli()
	v, err := cdctest.BareEnvelope(cdctest.Event{Op: "u", After: cdctest.Row(row), TsMs: ts, SourceTsMs: ts})
	if err != nil {
		panic(err) // rows are built by tests from plain values
	}
	return change.Message{Key: key(id), Value: v}
}

// Raw is a message with the given value under the key of id, for bad input.
func Raw(id int, value string) change.Message {
	return change.Message{Key: key(id), Value: []byte(value)}
}

func key(id int) []byte { return fmt.Appendf(nil, `{"id":%d}`, id) }
