package testenv

import (
	"time"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
)

// UpdateFrom is a Debezium update event of row id carrying its before
// image, as Postgres sends under REPLICA IDENTITY FULL (and MySQL always).
// A nil before is Postgres's default: no before image on updates.
func UpdateFrom(id int, before, after Row) change.Message {
	return event(id, "u", before, after)
}

// Delete is a Debezium delete event of row id. before is the before image:
// the whole row under REPLICA IDENTITY FULL, Row{"id": id} (the key
// columns only) under Postgres's default.
func Delete(id int, before Row) change.Message {
	return event(id, "d", before, nil)
}

// Tombstone is the null-valued message Debezium writes after a delete, so
// that compaction can drop the row's key.
func Tombstone(id int) change.Message {
	return change.Message{Key: key(id)}
}

func event(id int, op string, before, after Row) change.Message {
	ts := time.Now().UnixMilli()
	v, err := cdctest.BareEnvelope(cdctest.Event{Op: op, Before: cdctest.Row(before), After: cdctest.Row(after), TsMs: ts, SourceTsMs: ts})
	if err != nil {
		panic(err) // rows are built by tests from plain values
	}
	return change.Message{Key: key(id), Value: v}
}
