package cdc

import (
	"reflect"
	"runtime"
	"testing"
	"weak"

	"github.com/attrsync/attrsync/internal/change"
)

// recycleMessages are Debezium updates and creates whose rows hold
// different fields: a row decoded into recycled storage must not show what
// the row before it held.
var recycleMessages = []string{
	`{"before":{"id":1,"email":"old@example.com"},"after":{"id":1,"email":"ann@example.com","first_name":"Ann","score":1.5},"op":"u","ts_ms":1}`,
	`{"after":{"id":2,"email":"bob@example.com"},"op":"c","ts_ms":2}`,
	`{"before":{"id":3},"after":{"id":3,"first_name":"Cy","score":null},"op":"u","ts_ms":3}`,
	`{"before":{"id":4,"email":"dee@example.com"},"after":{"id":4,"email":"dee@example.com","first_name":"Dee"},"op":"u","ts_ms":4}`,
}

func recycleDecoder(t testing.TB) *Decoder {
	return mustNew(t, FormatDebezium, OnlyFields("email", "first_name", "score"), WithBefore("email"), ByIndex(), BorrowValue())
}

// TestRecycledRowsHoldOnlyTheirOwnFields decodes messages in turn, each
// into the storage of the row before it, and compares every row with the
// one a decoder that never reuses storage gives.
func TestRecycledRowsHoldOnlyTheirOwnFields(t *testing.T) {
	reusing, fresh := recycleDecoder(t), recycleDecoder(t)
	for round := range 3 {
		for i, m := range recycleMessages {
			got, err := reusing.Decode(nil, []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			want, err := fresh.Decode(nil, []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			if g, w := got.Unindexed(), want.Unindexed(); !reflect.DeepEqual(g, w) {
				t.Errorf("round %d, message %d: recycled row %+v, want %+v", round, i, g, w)
			}
			reusing.Recycle(got)
		}
	}
}

// TestRecycleReusesStorage checks that a decoder given its rows back
// allocates less for each message than one that is not: both Columns of
// an update come from the rows recycled.
func TestRecycleReusesStorage(t *testing.T) {
	d := recycleDecoder(t)
	value := []byte(recycleMessages[0])
	decode := func(recycle bool) func() {
		return func() {
			row, err := d.Decode(nil, value)
			if err != nil {
				t.Fatal(err)
			}
			if recycle {
				d.Recycle(row)
			}
		}
	}
	kept, recycled := testing.AllocsPerRun(100, decode(false)), testing.AllocsPerRun(100, decode(true))
	if recycled > kept-2 {
		t.Errorf("%v allocations a message when rows are recycled, %v when not: want two fewer (the after and before Columns)", recycled, kept)
	}
}

// TestRecycledStorageKeepsNoValue checks that storage waiting for the next
// row does not hold the message value its last row borrowed from: the
// held-message budget stops counting a message once it is finished, so a
// value kept alive here would be memory nothing bounds.
func TestRecycledStorageKeepsNoValue(t *testing.T) {
	d := recycleDecoder(t)
	value := []byte(recycleMessages[0])
	gone := weak.Make(&value[0])
	row, err := d.Decode(nil, value)
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := row.FieldText(-1, "email"); s != "ann@example.com" {
		t.Fatalf("email %q", s)
	}
	d.Recycle(row)
	row, value = change.Row{}, nil
	runtime.GC()
	if gone.Value() != nil {
		t.Error("the message value is still reachable after its row was recycled")
	}
	runtime.KeepAlive(d) // the pool lives as long as its decoder
}
