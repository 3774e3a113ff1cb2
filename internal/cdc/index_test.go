package cdc_test

import (
	"reflect"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/mapping"
)

// TestByIndexMapsAlike decodes one generated users stream as a sync does
// (cdc.ByIndex, the mapper's fields, the identifier's before image) and
// into maps, and checks that every event gives the same row and maps to the
// same user change, and that updates and their before images did take the
// path by index.
func TestByIndexMapsAlike(t *testing.T) {
	cfg := usersMapping
	cfg.OnDelete = mapping.OnDeleteUnset
	mapper, err := mapping.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	opts := []cdc.Option{cdc.OnlyFields(mapper.SourceFields()...), cdc.WithBefore("email"), cdc.BorrowValue()}
	maps, err := cdc.New(cdc.FormatDebezium, opts...)
	if err != nil {
		t.Fatal(err)
	}
	indexed, err := cdc.New(cdc.FormatDebezium, append(opts, cdc.ByIndex())...)
	if err != nil {
		t.Fatal(err)
	}
	table := cdctest.Users()
	byIndex, befores := 0, 0
	for n, ev := range cdctest.UserEvents(25, 300, 7) {
		key, value, err := cdctest.JSON{}.Event(table, ev)
		if err != nil {
			t.Fatal(err)
		}
		pos := change.Position{Topic: table.Topic, Offset: int64(n)}
		var (
			rows    [2]change.Row
			changes [2]change.UserChange
		)
		for i, d := range []*cdc.Decoder{maps, indexed} {
			if rows[i], err = d.Decode(key, value); err != nil {
				t.Fatalf("event %d (%s): %v", n, ev.Op, err)
			}
			if changes[i], err = mapper.Map(rows[i], pos); err != nil {
				t.Fatalf("event %d (%s): map: %v", n, ev.Op, err)
			}
		}
		if rows[1].Cols.Len() > 0 && rows[1].Fields == nil {
			byIndex++
		}
		if rows[1].BeforeCols.Len() > 0 && rows[1].Before == nil {
			befores++
		}
		if got := rows[1].Unindexed(); !reflect.DeepEqual(got, rows[0]) {
			t.Fatalf("event %d (%s): row by index %#v, in maps %#v", n, ev.Op, got, rows[0])
		}
		if !reflect.DeepEqual(changes[1], changes[0]) {
			t.Fatalf("event %d (%s): change by index %+v, from maps %+v", n, ev.Op, changes[1], changes[0])
		}
	}
	if byIndex == 0 || befores == 0 {
		t.Fatalf("%d rows and %d before images decoded by index, want some of each", byIndex, befores)
	}
}
