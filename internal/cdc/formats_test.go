package cdc_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// usersMapping reads every kind of column of cdctest.Users.
var usersMapping = mapping.Config{
	Identifier:       mapping.Identifier{Source: "email", As: "email"},
	UnavailableValue: mapping.DefaultUnavailableValue,
	Attributes: []mapping.Attribute{
		{From: "first_name", To: "firstName"},
		{From: "phone", To: "phoneNumber", Nulls: "skip"},
		{From: "signup_at", To: "signedUpAt", Type: "date"},
		{From: "birth_date", To: "birthDate", Type: "date"},
		{From: "is_active", To: "isActive", Type: "boolean"},
		{From: "lifetime_value", To: "lifetimeValue", Type: "number"},
		{From: "score", To: "score"},
		{From: "credits", To: "credits", Type: "number"},
		{From: "level", To: "level", Type: "string"},
		{From: "tags", To: "tags"},
		{From: "avatar", To: "avatar"},
	},
}

// formats returns one writer per format and the decoders reading them,
// every decoder built with opts.
func formats(t *testing.T, reg *srfake.Registry, opts ...cdc.Option) ([]cdctest.Writer, []*cdc.Decoder) {
	t.Helper()
	registry, err := cdc.NewRegistry(cdc.RegistryConfig{URL: reg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	writers := []cdctest.Writer{cdctest.JSON{}, cdctest.NewAvro(reg), cdctest.NewProtobuf(reg)}
	decoders := make([]*cdc.Decoder, len(writers))
	for i, w := range writers {
		d, err := cdc.New(w.Format(), append(opts, cdc.WithRegistry(registry))...)
		if err != nil {
			t.Fatal(err)
		}
		decoders[i] = d
	}
	return writers, decoders
}

// TestFormatsDecodeAlike writes one generated users stream as JSON
// (JsonConverter with schemas), Avro and Protobuf, and checks that every
// event decodes to the same row and maps to the same user change, with the
// decoder building all fields, and only the mapped ones with the
// identifier's before image. With the mapped fields the stream is also read
// as a sync reads it (app.NewDecoder: cdc.ByIndex, cdc.BorrowValue), whose
// rows must be the same rows held by index: updates and their before images
// must take that path.
func TestFormatsDecodeAlike(t *testing.T) {
	cfg := usersMapping
	cfg.OnDelete = mapping.OnDeleteUnset
	mapper, err := mapping.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	events := cdctest.UserEvents(25, 300, 7)
	table := cdctest.Users()
	mapped := []cdc.Option{cdc.OnlyFields(mapper.SourceFields()...), cdc.WithBefore("email")}
	for _, opts := range [][]cdc.Option{nil, mapped} {
		reg := srfake.New()
		defer reg.Close()
		writers, decoders := formats(t, reg, opts...)
		if opts != nil {
			sync, err := cdc.New(cdc.FormatDebezium, append(opts, cdc.BorrowValue(), cdc.ByIndex())...)
			if err != nil {
				t.Fatal(err)
			}
			writers, decoders = append(writers, cdctest.JSON{}), append(decoders, sync)
		}
		ops := map[change.Op]int{}
		byIndex, beforesByIndex := 0, 0
		for n, ev := range events {
			pos := change.Position{Topic: table.Topic, Offset: int64(n)}
			var (
				rows    []change.Row
				changes []change.UserChange
			)
			for i, w := range writers {
				key, value, err := w.Event(table, ev)
				if err != nil {
					t.Fatal(err)
				}
				row, err := decoders[i].Decode(key, value)
				if err != nil {
					t.Fatalf("event %d (%s): %s: %v", n, ev.Op, w.Format(), err)
				}
				uc, err := mapper.Map(row, pos)
				if err != nil {
					t.Fatalf("event %d: %s: map: %v", n, w.Format(), err)
				}
				if row.Cols.Len() > 0 && row.Fields == nil {
					byIndex++
				}
				if row.BeforeCols.Len() > 0 && row.Before == nil {
					beforesByIndex++
				}
				rows = append(rows, row)
				changes = append(changes, uc)
			}
			ops[rows[0].Op]++
			for i := 1; i < len(rows); i++ {
				if got := rows[i].Unindexed(); !reflect.DeepEqual(rows[0], got) {
					t.Fatalf("event %d (%s): decoder %d (%s) row differs from JSON's\n json: %#v\n %s: %#v",
						n, ev.Op, i, writers[i].Format(), rows[0], writers[i].Format(), got)
				}
				if !reflect.DeepEqual(changes[0], changes[i]) {
					t.Fatalf("event %d: %s user change differs from JSON's\n json: %+v\n %s: %+v",
						n, writers[i].Format(), changes[0], writers[i].Format(), changes[i])
				}
			}
		}
		if ops[change.OpUpsert] == 0 || ops[change.OpDelete] == 0 {
			t.Fatalf("the stream must hold upserts and deletes, got %v", ops)
		}
		if opts != nil && (byIndex == 0 || beforesByIndex == 0) {
			t.Fatalf("%d rows and %d before images decoded by index, want some of each", byIndex, beforesByIndex)
		}
	}
}

// TestFormatsRowValues pins what a row holds for each column type, in all
// three formats: numbers as JsonConverter writes them, Connect's logical
// types by name, bytes as base64, nulls as nil.
func TestFormatsRowValues(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	writers, decoders := formats(t, reg)
	row := cdctest.Row{
		"id": int64(42), "email": "Ann@Example.com", "first_name": "Ann", "last_name": nil, "phone": nil,
		"signup_at": int64(1_700_000_000_123), "birth_date": int32(19_000), "send_time": int32(3_600_000),
		"is_active": true, "lifetime_value": 100.0, "score": float32(0.5), "credits": int32(7),
		"level": int32(2), "tags": []any{}, "avatar": []byte{0xff, 0x00},
	}
	want := change.Row{
		Op: change.OpUpsert,
		Fields: map[string]any{
			"id": json.Number("42"), "email": "Ann@Example.com", "first_name": "Ann", "last_name": nil, "phone": nil,
			"signup_at": json.Number("1700000000123"), "birth_date": json.Number("19000"),
			"send_time": json.Number("3600000"), "is_active": true, "lifetime_value": json.Number("100.0"),
			"score": json.Number("0.5"), "credits": json.Number("7"), "level": json.Number("2"),
			"tags": []any{}, "avatar": "/wA=",
		},
		LogicalTypes: map[string]string{
			"signup_at":  cdctest.ConnectTimestamp,
			"birth_date": cdctest.ConnectDate,
			"send_time":  cdctest.ConnectTime,
		},
	}
	ev := cdctest.Event{Op: "c", After: row, SourceTsMs: 1_700_000_000_500, TsMs: 1_700_000_000_600}
	for i, w := range writers {
		key, value, err := w.Event(cdctest.Users(), ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decoders[i].Decode(key, value)
		if err != nil {
			t.Fatalf("%s: %v", w.Format(), err)
		}
		if got.SourceTime.UnixMilli() != ev.SourceTsMs {
			t.Errorf("%s: source time %v, want source.ts_ms", w.Format(), got.SourceTime)
		}
		got.SourceTime = want.SourceTime
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got  %#v\n want %#v", w.Format(), got, want)
		}
	}
}

// TestFormatsNonRowMessages: heartbeats are skipped, tombstones are
// deletes without a row, as for JSON.
func TestFormatsNonRowMessages(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	writers, decoders := formats(t, reg)
	for i, w := range writers {
		key, value, err := w.Heartbeat("dbserver1", 1_700_000_000_000)
		if err != nil {
			t.Fatal(err)
		}
		row, err := decoders[i].Decode(key, value)
		if err != nil || row.Op != change.OpSkip || row.Skip != cdc.SkipHeartbeat || row.SourceTime.UnixMilli() != 1_700_000_000_000 {
			t.Errorf("%s heartbeat: %+v, %v", w.Format(), row, err)
		}
		row, err = decoders[i].Decode(key, nil)
		if err != nil || row.Op != change.OpDelete || row.Fields != nil {
			t.Errorf("%s tombstone: %+v, %v", w.Format(), row, err)
		}
	}
}

// TestFormatsSchemaEvolution adds a column mid-stream: the writers
// register a second schema, and the same decoders read both.
func TestFormatsSchemaEvolution(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	writers, decoders := formats(t, reg)
	v1 := cdctest.Users()
	v2 := v1.WithColumn(cdctest.Column{Name: "nickname", Type: cdctest.String, Optional: true})
	events := cdctest.UserEvents(3, 6, 1)
	for n, ev := range events {
		table := v1
		if n >= 3 {
			table = v2
			if ev.After != nil {
				ev.After = clone(ev.After)
				ev.After["nickname"] = "nick"
			}
			if ev.Before != nil {
				ev.Before = clone(ev.Before)
				ev.Before["nickname"] = nil
			}
		}
		for i, w := range writers {
			key, value, err := w.Event(table, ev)
			if err != nil {
				t.Fatal(err)
			}
			row, err := decoders[i].Decode(key, value)
			if err != nil {
				t.Fatalf("event %d: %s: %v", n, w.Format(), err)
			}
			nick, has := row.Fields["nickname"]
			if n < 3 && has {
				t.Errorf("event %d: %s: nickname before the column existed", n, w.Format())
			}
			if n >= 3 && row.Op == change.OpUpsert && nick != "nick" {
				t.Errorf("event %d: %s: nickname = %v, want nick", n, w.Format(), nick)
			}
		}
	}
	for _, subject := range []string{v1.Topic + "-value"} {
		if _, ok := reg.GetSchema(subject, 2); !ok {
			t.Errorf("%s: no second schema version: the test did not evolve the schema", subject)
		}
	}
}

// TestFormatsMalformed: bytes that are not a valid message of their schema
// are decode failures, not registry trouble.
func TestFormatsMalformed(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	writers, decoders := formats(t, reg)
	ev := cdctest.UserEvents(1, 1, 1)[0]
	for i, w := range writers[1:] {
		d := decoders[i+1]
		key, value, err := w.Event(cdctest.Users(), ev)
		if err != nil {
			t.Fatal(err)
		}
		bad := map[string][]byte{
			"no magic byte": append([]byte{1}, value[1:]...),
			"header only":   value[:5],
			"truncated":     value[:len(value)-4],
			"trailing data": append(append([]byte(nil), value...), 0x02, 0x02),
		}
		for name, b := range bad {
			_, err := d.Decode(key, b)
			var f *change.Failure
			if !errors.As(err, &f) || f.Class != change.ClassDecode || errors.Is(err, cdc.ErrUnavailable) {
				t.Errorf("%s %s: got %v, want a decode failure", w.Format(), name, err)
			}
		}
	}
}

func clone(r cdctest.Row) cdctest.Row {
	out := cdctest.Row{}
	for k, v := range r {
		out[k] = v
	}
	return out
}

// debeziumTypes is a table in Debezium's default time.precision.mode,
// whose time and JSON columns carry Debezium's own type names.
func debeziumTypes() *cdctest.Table {
	return &cdctest.Table{Topic: "dbserver1.public.people", Key: "id", Columns: []cdctest.Column{
		{Name: "id", Type: cdctest.Int64},
		{Name: "email", Type: cdctest.String},
		{Name: "signup_at", Type: cdctest.Int64, Optional: true, Logical: cdctest.DebeziumMicroTS},
		{Name: "birth_date", Type: cdctest.Int32, Optional: true, Logical: cdctest.DebeziumDate},
		{Name: "seen_at", Type: cdctest.String, Optional: true, Logical: cdctest.DebeziumZonedTS},
		{Name: "plan", Type: cdctest.String, Optional: true, Logical: cdctest.DebeziumJSON},
	}}
}

// TestDebeziumTypeNames: Avro keeps Debezium's type names (AvroConverter
// writes them as connect.name), so dates in microseconds or days and JSON
// columns map exactly as from JSON. ProtobufConverter drops those names:
// the values arrive as plain numbers and strings, which a mapping must
// give a unit to (documented in the README).
func TestDebeziumTypeNames(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	writers, decoders := formats(t, reg)
	mapper, err := mapping.New(mapping.Config{
		Identifier: mapping.Identifier{Source: "email", As: "email"},
		Attributes: []mapping.Attribute{
			{From: "signup_at", To: "signedUpAt", Type: "date"},
			{From: "birth_date", To: "birthDate", Type: "date"},
			{From: "seen_at", To: "seenAt", Type: "date"},
			{From: "plan.tier", To: "planTier"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := cdctest.Event{Op: "u", After: cdctest.Row{
		"id": int64(1), "email": "a@example.com", "signup_at": int64(1_700_000_000_123_456),
		"birth_date": int32(10_000), "seen_at": "2024-05-01T10:00:00Z", "plan": `{"tier":"pro"}`,
	}}
	var rows []change.Row
	var changes []change.UserChange
	for i, w := range writers {
		key, value, err := w.Event(debeziumTypes(), ev)
		if err != nil {
			t.Fatal(err)
		}
		row, err := decoders[i].Decode(key, value)
		if err != nil {
			t.Fatalf("%s: %v", w.Format(), err)
		}
		rows = append(rows, row)
		if w.Format() == "protobuf" {
			continue // microseconds without a type name: a unit is needed
		}
		uc, err := mapper.Map(row, change.Position{})
		if err != nil {
			t.Fatalf("%s: %v", w.Format(), err)
		}
		changes = append(changes, uc)
	}
	if !reflect.DeepEqual(rows[0], rows[1]) || !reflect.DeepEqual(changes[0], changes[1]) {
		t.Errorf("avro differs from JSON:\n json %#v\n avro %#v", rows[0], rows[1])
	}
	if got := string(changes[1].Attrs[0].JSON); got != `"2023-11-14 22:13:20 +00:00"` {
		t.Errorf("signedUpAt from MicroTimestamp = %s", got)
	}
	if rows[2].LogicalTypes != nil || !reflect.DeepEqual(rows[0].Fields, rows[2].Fields) {
		t.Errorf("protobuf: want the same values without type names, got %#v", rows[2])
	}
}

// TestDecimals: a Connect Decimal (Debezium's decimal.handling.mode
// precise) and Debezium's VariableScaleDecimal become exact numbers in the
// binary formats, which carry the scale; JsonConverter's JSON has them as
// base64 bytes, which the JSON decoder leaves as they are.
func TestDecimals(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	writers, decoders := formats(t, reg)
	table := &cdctest.Table{Topic: "dbserver1.public.orders", Key: "id", Columns: []cdctest.Column{
		{Name: "id", Type: cdctest.Int64},
		{Name: "total", Type: cdctest.Bytes, Optional: true, Logical: cdctest.ConnectDecimal, Scale: 2},
		{Name: "refund", Type: cdctest.Bytes, Optional: true, Logical: cdctest.ConnectDecimal, Scale: 3},
		{Name: "ratio", Type: cdctest.Struct, Optional: true, Logical: cdctest.DebeziumVarDec, Fields: []cdctest.Column{
			{Name: "scale", Type: cdctest.Int32}, {Name: "value", Type: cdctest.Bytes},
		}},
	}}
	ev := cdctest.Event{Op: "c", After: cdctest.Row{
		"id": int64(1), "total": "1234.50", "refund": "-0.001",
		"ratio": map[string]any{"scale": int32(4), "value": []byte{0x30, 0x39}},
	}}
	for i, w := range writers {
		key, value, err := w.Event(table, ev)
		if err != nil {
			t.Fatal(err)
		}
		row, err := decoders[i].Decode(key, value)
		if err != nil {
			t.Fatalf("%s: %v", w.Format(), err)
		}
		if w.Format() == "debezium" {
			if _, ok := row.Fields["total"].(string); !ok {
				t.Errorf("json: total = %#v, want JsonConverter's base64 text", row.Fields["total"])
			}
			continue
		}
		want := map[string]any{"id": json.Number("1"), "total": json.Number("1234.50"),
			"refund": json.Number("-0.001"), "ratio": json.Number("1.2345")}
		if !reflect.DeepEqual(row.Fields, want) || row.LogicalTypes["total"] != cdctest.ConnectDecimal {
			t.Errorf("%s: %#v %v, want %v", w.Format(), row.Fields, row.LogicalTypes, want)
		}
	}
}
