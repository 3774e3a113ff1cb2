package cdc_test

import (
	"reflect"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// TestBeforeImageOfUpdates checks, in every format, that an update's before
// image is read for the fields WithBefore names and only those, so that an
// email change can be told from the message alone; that it is not read
// without WithBefore; and that other ops carry none.
func TestBeforeImageOfUpdates(t *testing.T) {
	table := cdctest.Users()
	old := cdctest.Row{
		"id": int64(7), "email": "Old@Example.com", "first_name": "Ann", "last_name": nil, "phone": nil,
		"signup_at": int64(1_700_000_000_000), "birth_date": int32(19_000), "send_time": int32(0),
		"is_active": true, "lifetime_value": 1.5, "score": float32(0.5), "credits": int32(1),
		"level": int32(1), "tags": []any{}, "avatar": []byte{1},
	}
	cur := cdctest.Row{}
	for k, v := range old {
		cur[k] = v
	}
	cur["email"] = "new@example.com"
	events := []cdctest.Event{
		{Op: "u", Before: old, After: cur, TsMs: 1},
		{Op: "c", After: cur, TsMs: 2},
		{Op: "u", After: cur, TsMs: 3}, // REPLICA IDENTITY DEFAULT: no before
	}
	wants := []map[string]any{{"email": "Old@Example.com"}, nil, nil}
	for _, withBefore := range []bool{true, false} {
		reg := srfake.New()
		var opts []cdc.Option
		if withBefore {
			opts = append(opts, cdc.WithBefore("email"))
		}
		writers, decoders := formats(t, reg, append(opts, cdc.OnlyFields("email", "first_name"))...)
		for i, w := range writers {
			for n, ev := range events {
				key, value, err := w.Event(table, ev)
				if err != nil {
					t.Fatal(err)
				}
				row, err := decoders[i].Decode(key, value)
				if err != nil {
					t.Fatalf("%s event %d: %v", w.Format(), n, err)
				}
				want := wants[n]
				if !withBefore {
					want = nil
				}
				if !reflect.DeepEqual(row.Before, want) {
					t.Errorf("%s event %d (with before %v): Before %#v, want %#v", w.Format(), n, withBefore, row.Before, want)
				}
				if row.Fields["email"] != "new@example.com" {
					t.Errorf("%s event %d: after email %v", w.Format(), n, row.Fields["email"])
				}
			}
		}
		reg.Close()
	}
}
