package cdc

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// layoutPair is a decoder made with opts and its twin that reads rows
// without layouts.
func layoutPair(t testing.TB, opts ...Option) [2]*Decoder {
	twin := mustNew(t, FormatDebezium, opts...)
	twin.noLayouts = true
	return [2]*Decoder{mustNew(t, FormatDebezium, opts...), twin}
}

// indexPairs are decoders made with opts and ByIndex, with and without
// layouts, each paired with its twin that reads rows into maps.
func indexPairs(t testing.TB, opts ...Option) [][2]*Decoder {
	indexed := append(opts[:len(opts):len(opts)], ByIndex())
	bare := mustNew(t, FormatDebezium, indexed...)
	bare.noLayouts = true
	return [][2]*Decoder{
		{mustNew(t, FormatDebezium, indexed...), mustNew(t, FormatDebezium, opts...)},
		{bare, mustNew(t, FormatDebezium, opts...)},
	}
}

// sameWithoutLayouts decodes value with both decoders of a pair, twice so
// that a schema first read takes the cached-schema path the second time,
// and fails unless they agree, errors included. Rows decoded by index are
// compared as the rows they stand for (change.Row.Unindexed).
func sameWithoutLayouts(t *testing.T, pair [2]*Decoder, value []byte) {
	t.Helper()
	for pass := range 2 {
		got, gotErr := pair[0].Decode(nil, value)
		want, wantErr := pair[1].Decode(nil, value)
		got, want = got.Unindexed(), want.Unindexed()
		if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
			t.Fatalf("pass %d of %q: error %v, without layouts %v", pass, value, gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pass %d of %q: row %#v, without layouts %#v", pass, value, got, want)
		}
	}
}

// TestLayoutsChangeNoRow checks that rows read with their schema's layout
// are the rows read without one, and rows decoded by index those decoded
// into maps, for members in the schema's order and out of it, missing,
// extra, repeated, spelt with escapes, spaced, and malformed, for updates
// with a before image and for deletes.
func TestLayoutsChangeNoRow(t *testing.T) {
	var msg map[string]json.RawMessage
	if err := json.Unmarshal(fixture(t, "debezium_users_update_schema.json"), &msg); err != nil {
		t.Fatal(err)
	}
	schema := string(msg["schema"])
	rows := []string{
		`{"id":1,"email":"a@b.co","first_name":"A","last_name":"B","plan":"pro","tags":["x"]}`,
		`{"email":"a@b.co","id":1,"last_name":"B","first_name":"A"}`,
		`{"id":1,"first_name":"A","email":"a@b.co"}`,
		`{"id":1,"extra":{"n":[1]},"email":"a@b.co","first_name":"A"}`,
		`{"id":1,"email":"a@b.co","email":"c@d.co"}`,
		`{"id":1,"em\u0061il":"a@b.co","first_name":"A"}`,
		`{ "id" : 1 , "email"	:"a@b.co" ,"first_name" : "A" }`,
		`{"id":1,"email":"a@b.co","first_name":"A",}`,
		`{"id":1,"email":"a@b.co" "first_name":"A"}`,
		`{"id":1,"email"  "a@b.co"}`,
		`{"id":1,"email":"a@b.co","first_name":12x}`,
		`{"id":1,"emailx":"a@b.co"}`,
		`{"id":1,"email`,
		`{}`,
	}
	options := [][]Option{
		nil,
		{OnlyFields("email", "first_name", "plan")},
		{OnlyFields("email", "tags"), WithBefore("email")},
	}
	for _, row := range rows {
		for _, op := range []string{"u", "d"} {
			before := strings.Replace(row, `"a@b.co"`, `"old@b.co"`, 1)
			value := `{"schema":` + schema + `,"payload":{"before":` + before + `,"after":` + row + `,"op":"` + op + `"}}`
			for _, opts := range options {
				// Fresh decoders: the first decode reads the schema.
				sameWithoutLayouts(t, layoutPair(t, opts...), []byte(value))
				if opts != nil {
					for _, pair := range indexPairs(t, opts...) {
						sameWithoutLayouts(t, pair, []byte(value))
					}
				}
			}
		}
	}
}
