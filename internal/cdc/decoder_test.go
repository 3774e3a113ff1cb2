package cdc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustNew(t testing.TB, format string, opts ...Option) *Decoder {
	t.Helper()
	d, err := New(format, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewRejectsUnknownFormat(t *testing.T) {
	if _, err := New("xml"); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Fatalf("New(xml) = %v, want an error naming the format", err)
	}
}

// sourceTime is the source.ts_ms of the Debezium fixtures.
var sourceTime = time.UnixMilli(1718957730512).UTC()

func TestDecodeFixtures(t *testing.T) {
	pgTypes := map[string]string{
		"plan":                "io.debezium.data.Json",
		"signup_at":           "io.debezium.time.MicroTimestamp",
		"birth_date":          "io.debezium.time.Date",
		"last_login_at":       "io.debezium.time.ZonedTimestamp",
		"updated_at":          "io.debezium.time.Timestamp",
		"external_ref":        "io.debezium.data.Uuid",
		"preferred_send_time": "io.debezium.time.MicroTime",
	}
	tests := []struct {
		format, file string
		op           change.Op
		skip         string
		email        any // Fields["email"], nil when absent
		firstName    any
		types        map[string]string
		srcTime      time.Time
		noFields     bool
	}{
		{format: "debezium", file: "debezium_users_update_schema.json", op: change.OpUpsert,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", types: pgTypes, srcTime: sourceTime},
		{format: "debezium", file: "debezium_users_create.json", op: change.OpUpsert,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", srcTime: sourceTime},
		{format: "debezium", file: "debezium_users_snapshot_schema.json", op: change.OpUpsert,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", types: pgTypes, srcTime: sourceTime},
		{format: "debezium", file: "debezium_users_delete_schema.json", op: change.OpDelete,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", types: pgTypes, srcTime: sourceTime},
		{format: "debezium", file: "debezium_users_delete.json", op: change.OpDelete, srcTime: sourceTime},
		{format: "debezium", file: "debezium_heartbeat_schema.json", op: change.OpSkip, skip: SkipHeartbeat,
			srcTime: time.UnixMilli(1718957731000).UTC(), noFields: true},
		{format: "debezium", file: "debezium_heartbeat.json", op: change.OpSkip, skip: SkipHeartbeat,
			srcTime: time.UnixMilli(1718957731000).UTC(), noFields: true},
		{format: "debezium", file: "debezium_transaction_begin.json", op: change.OpSkip, skip: SkipTransaction,
			srcTime: time.UnixMilli(1718957730500).UTC(), noFields: true},
		{format: "debezium", file: "debezium_transaction_end.json", op: change.OpSkip, skip: SkipTransaction,
			srcTime: time.UnixMilli(1718957730520).UTC(), noFields: true},
		{format: "debezium", file: "debezium_schema_change.json", op: change.OpSkip, skip: SkipSchemaChange,
			srcTime: time.UnixMilli(1718957730000).UTC(), noFields: true},
		{format: "debezium", file: "debezium_truncate.json", op: change.OpSkip, skip: SkipTruncate,
			srcTime: sourceTime, noFields: true},
		{format: "debezium", file: "debezium_message.json", op: change.OpSkip, skip: SkipMessage,
			srcTime: sourceTime, noFields: true},
		{format: "flat", file: "flat_users_update_schema.json", op: change.OpUpsert,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", types: pgTypes, srcTime: sourceTime},
		{format: "flat", file: "flat_users_update.json", op: change.OpUpsert,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", srcTime: sourceTime},
		{format: "flat", file: "flat_users_deleted.json", op: change.OpDelete,
			email: "Ada.Lovelace@Example.com", firstName: "Ada", srcTime: sourceTime},
		{format: "flat", file: "debezium_heartbeat_schema.json", op: change.OpSkip, skip: SkipHeartbeat,
			noFields: true},
		{format: "flat", file: "debezium_heartbeat.json", op: change.OpSkip, skip: SkipHeartbeat, noFields: true},
		{format: "flat", file: "debezium_transaction_begin.json", op: change.OpSkip, skip: SkipTransaction,
			noFields: true},
		{format: "flat", file: "debezium_schema_change.json", op: change.OpSkip, skip: SkipSchemaChange,
			noFields: true},
		{format: "json", file: "json_users_row.json", op: change.OpUpsert, email: "ada@example.com", firstName: "Ada"},
	}
	for _, tt := range tests {
		t.Run(tt.format+"/"+tt.file, func(t *testing.T) {
			row, err := mustNew(t, tt.format).Decode([]byte(`{"id":1001}`), fixture(t, tt.file))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if row.Op != tt.op || row.Skip != tt.skip {
				t.Fatalf("op, skip = %v, %q; want %v, %q", row.Op, row.Skip, tt.op, tt.skip)
			}
			if got := row.Fields["email"]; got != tt.email {
				t.Errorf("email = %#v, want %#v", got, tt.email)
			}
			if got := row.Fields["first_name"]; got != tt.firstName {
				t.Errorf("first_name = %#v, want %#v", got, tt.firstName)
			}
			if tt.noFields && row.Fields != nil {
				t.Errorf("Fields = %v, want none", row.Fields)
			}
			if !reflect.DeepEqual(row.LogicalTypes, tt.types) {
				t.Errorf("LogicalTypes = %v, want %v", row.LogicalTypes, tt.types)
			}
			if !row.SourceTime.Equal(tt.srcTime) {
				t.Errorf("SourceTime = %v, want %v", row.SourceTime, tt.srcTime)
			}
			for k := range row.Fields {
				if strings.HasPrefix(k, "__") {
					t.Errorf("metadata field %q left in Fields", k)
				}
			}
		})
	}
}

// TestDecodeRowValues checks the decoded JSON model: json.Number for every
// number, nested arrays, null kept as a present nil.
func TestDecodeRowValues(t *testing.T) {
	row, err := mustNew(t, "debezium").Decode(nil, fixture(t, "debezium_users_update_schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":                  json.Number("1001"),
		"email":               "Ada.Lovelace@Example.com",
		"first_name":          "Ada",
		"last_name":           "Lovelace",
		"phone":               nil,
		"plan":                `{"tier": "pro", "seats": 5, "addons": ["sso", "audit"]}`,
		"signup_at":           json.Number("1718886896123456"),
		"birth_date":          json.Number("-56270"),
		"last_login_at":       "2024-06-21T08:15:30.5Z",
		"updated_at":          json.Number("1718957730500"),
		"is_active":           true,
		"lifetime_value":      json.Number("1234.5"),
		"credits":             json.Number("42"),
		"tags":                []any{"beta", "vip"},
		"external_ref":        "6f1c2b1e-3d4a-4c5b-9e8f-0a1b2c3d4e5f",
		"preferred_send_time": json.Number("32400000000"),
	}
	if !reflect.DeepEqual(row.Fields, want) {
		t.Fatalf("Fields =\n%#v\nwant\n%#v", row.Fields, want)
	}
}

func TestOnlyFields(t *testing.T) {
	d := mustNew(t, "debezium", OnlyFields("email", "signup_at", "absent"))
	for _, file := range []string{"debezium_users_update_schema.json", "debezium_users_delete_schema.json"} {
		row, err := d.Decode(nil, fixture(t, file))
		if err != nil {
			t.Fatal(err)
		}
		wantFields := map[string]any{"email": "Ada.Lovelace@Example.com", "signup_at": json.Number("1718886896123456")}
		if !reflect.DeepEqual(row.Fields, wantFields) {
			t.Errorf("%s: Fields = %v, want %v", file, row.Fields, wantFields)
		}
		wantTypes := map[string]string{"signup_at": "io.debezium.time.MicroTimestamp"}
		if !reflect.DeepEqual(row.LogicalTypes, wantTypes) {
			t.Errorf("%s: LogicalTypes = %v, want %v", file, row.LogicalTypes, wantTypes)
		}
	}
	// The flat format keeps its metadata and skip detection when filtering.
	row, err := mustNew(t, "flat", OnlyFields("email")).Decode(nil, fixture(t, "flat_users_deleted.json"))
	if err != nil || row.Op != change.OpDelete || len(row.Fields) != 1 {
		t.Errorf("flat filtered delete = %+v, %v", row, err)
	}
	row, err = mustNew(t, "flat", OnlyFields("email")).Decode(nil, fixture(t, "debezium_transaction_end.json"))
	if err != nil || row.Skip != SkipTransaction {
		t.Errorf("flat filtered transaction = %+v, %v", row, err)
	}
}

func TestDecodeInline(t *testing.T) {
	tests := []struct {
		name, format, value string
		op                  change.Op
		skip                string
		fields              map[string]any
	}{
		{"tombstone", "debezium", "", change.OpDelete, "", nil},
		{"null text", "debezium", " null ", change.OpDelete, "", nil},
		{"wrapped null payload", "debezium", `{"schema":null,"payload":null}`, change.OpDelete, "", nil},
		{"create", "debezium", `{"op":"c","after":{"a":1}}`, change.OpUpsert, "", map[string]any{"a": json.Number("1")}},
		{"read", "debezium", `{"op":"r","after":{"a":"x"}}`, change.OpUpsert, "", map[string]any{"a": "x"}},
		{"delete without before", "debezium", `{"op":"d","before":null,"after":null}`, change.OpDelete, "", nil},
		{"delete before", "debezium", `{"before":{"a":true},"after":null,"op":"d"}`, change.OpDelete, "", map[string]any{"a": true}},
		{"escapes", "debezium", `{"op":"u","after":{"a\u0062":"\u00e9\ud83d\ude00\n\"\/"}}`, change.OpUpsert, "",
			map[string]any{"ab": "é😀\n\"/"}},
		{"lone surrogate", "json", `{"a":"\ud800x"}`, change.OpUpsert, "", map[string]any{"a": "\uFFFDx"}},
		{"huge number", "json", `{"n":123456789012345678901234567890e400}`, change.OpUpsert, "",
			map[string]any{"n": json.Number("123456789012345678901234567890e400")}},
		{"duplicate key, last wins", "json", `{"a":1,"a":2}`, change.OpUpsert, "", map[string]any{"a": json.Number("2")}},
		{"json tombstone", "json", "", change.OpDelete, "", nil},
		{"flat tombstone", "flat", "", change.OpDelete, "", nil},
		{"flat __deleted bool", "flat", `{"a":1,"__deleted":true}`, change.OpDelete, "", map[string]any{"a": json.Number("1")}},
		{"flat __deleted false", "flat", `{"a":1,"__deleted":"false","__op":"c"}`, change.OpUpsert, "", map[string]any{"a": json.Number("1")}},
		{"flat __op d", "flat", `{"a":1,"__op":"d"}`, change.OpDelete, "", map[string]any{"a": json.Number("1")}},
		{"flat __op t", "flat", `{"__op":"t"}`, change.OpSkip, SkipTruncate, nil},
		{"flat wrapped null payload", "flat", `{"schema":{},"payload":null}`, change.OpDelete, "", nil},
		{"flat row with schema column", "flat", `{"schema":"s","payload":"p","x":1}`, change.OpUpsert, "",
			map[string]any{"schema": "s", "payload": "p", "x": json.Number("1")}},
		{"flat unknown meta dropped", "flat", `{"a":1,"__table":"users","__lsn":5}`, change.OpUpsert, "", map[string]any{"a": json.Number("1")}},
		{"json keeps __ fields", "json", `{"__op":"d"}`, change.OpUpsert, "", map[string]any{"__op": "d"}},
		{"empty object row", "json", `{}`, change.OpUpsert, "", map[string]any{}},
		{"empty array", "json", `{"a":[],"b":[[]],"c":{}}`, change.OpUpsert, "", map[string]any{"a": []any{}, "b": []any{[]any{}}, "c": map[string]any{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row, err := mustNew(t, tt.format).Decode(nil, []byte(tt.value))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if row.Op != tt.op || row.Skip != tt.skip {
				t.Fatalf("op, skip = %v, %q; want %v, %q", row.Op, row.Skip, tt.op, tt.skip)
			}
			if !reflect.DeepEqual(row.Fields, tt.fields) {
				t.Fatalf("Fields = %#v, want %#v", row.Fields, tt.fields)
			}
		})
	}
}

func TestDecodeFailures(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1)
	tests := []struct {
		name, format, value, reason string
	}{
		{"array", "debezium", `[1,2]`, "value is not a JSON object"},
		{"string", "json", `"x"`, "value is not a JSON object"},
		{"flat number", "flat", `42`, "value is not a JSON object"},
		{"garbage", "debezium", `{"op":"c",x}`, `invalid JSON at byte 10: unexpected 'x'`},
		{"truncated", "debezium", `{"op":"c","after":{"a":1`, "invalid JSON at byte 24: unexpected end of input"},
		{"whitespace only", "json", `  `, "unexpected end of input"},
		{"trailing data", "json", `{} {}`, "unexpected data after the top-level value"},
		{"trailing comma", "json", `{"a":1,}`, "unexpected '}'"},
		{"bad number", "json", `{"a":01}`, "unexpected '1'"},
		{"bad fraction", "json", `{"a":1.}`, "no digit after the decimal point"},
		{"bad exponent", "json", `{"a":1e}`, "no digit in the exponent"},
		{"bad literal", "json", `{"a":tru}`, "invalid literal, want true"},
		{"raw control char", "json", "{\"a\":\"x\ny\"}", "control character in string"},
		{"invalid utf8", "json", "{\"a\":\"\xff\"}", "invalid UTF-8 in string"},
		{"bad escape", "json", `{"a":"\q"}`, "invalid escape"},
		{"bad unicode escape", "json", `{"a":"\u12G4"}`, `invalid \u escape`},
		{"too deep", "json", deep, "nesting deeper than 64 levels"},
		{"too deep in skipped schema", "debezium", `{"schema":` + deep + `,"payload":{"op":"c","after":{}}}`, "nesting deeper than 64 levels"},
		{"unknown op", "debezium", `{"op":"x","after":{}}`, `unknown op "x"`},
		{"op not a string", "debezium", `{"op":1}`, "op is not a string"},
		{"after not object", "debezium", `{"op":"c","after":[1]}`, "after is not an object"},
		{"update with null after", "debezium", `{"op":"u","after":null}`, `after is not an object (op "u")`},
		{"before not object", "debezium", `{"op":"d","before":"x"}`, "before is not an object"},
		{"no op", "debezium", `{"after":{"a":1}}`, "not a Debezium change event: no op"},
		{"payload not object", "debezium", `{"schema":{},"payload":[]}`, "payload is not an object"},
		{"schema without payload", "debezium", `{"schema":{},"op":"c","after":{}}`, "schema without payload"},
		{"payload beside envelope", "debezium", `{"payload":{"op":"c","after":{}},"op":"c"}`, "payload next to envelope members"},
		{"flat unknown __op", "flat", `{"a":1,"__op":"z"}`, `unknown __op "z"`},
		{"flat payload not object", "flat", `{"schema":{},"payload":7}`, "payload is not an object"},
		{"unknown op is cut", "debezium", `{"op":"` + strings.Repeat("y", 100) + `"}`, `unknown op "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"…`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mustNew(t, tt.format).Decode(nil, []byte(tt.value))
			var f *change.Failure
			if !errors.As(err, &f) || f.Class != change.ClassDecode {
				t.Fatalf("Decode error = %#v, want a *change.Failure of class decode", err)
			}
			if !strings.Contains(f.Reason, tt.reason) {
				t.Fatalf("reason = %q, want it to contain %q", f.Reason, tt.reason)
			}
		})
	}
}

// TestDepthLimitBoundary accepts exactly MaxDepth levels.
func TestDepthLimitBoundary(t *testing.T) {
	ok := strings.Repeat(`[`, MaxDepth-1) + strings.Repeat(`]`, MaxDepth-1)
	if _, err := mustNew(t, "json").Decode(nil, []byte(`{"a":`+ok+`}`)); err != nil {
		t.Fatalf("depth %d rejected: %v", MaxDepth, err)
	}
}

// TestRowDoesNotAliasInput makes sure the row survives the caller reusing
// the message buffer, which kafka clients may do.
func TestRowDoesNotAliasInput(t *testing.T) {
	buf := []byte(`{"op":"c","after":{"email":"a@b.co"}}`)
	row, err := mustNew(t, "debezium").Decode(nil, buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	if row.Fields["email"] != "a@b.co" {
		t.Fatalf("email = %v after the buffer changed", row.Fields["email"])
	}
}
