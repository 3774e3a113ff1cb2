package cdc

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// FuzzDecode feeds arbitrary values to every format. The decoder must never
// panic and must fail only with class decode failures. The json format,
// which builds every value it reads, must accept only valid JSON and agree
// with encoding/json on what it decodes to; the other formats check parts
// they skip for structure only (see skipFast), so for them acceptance
// implies balanced structure, not full validity.
func FuzzDecode(f *testing.F) {
	// Small seeds only: the fuzzer minimizes every new interesting input,
	// and minimizing mutations of a 5 kB message stalls a short run. The
	// committed corpus holds small wrapped messages for those paths.
	for _, file := range []string{
		"debezium_users_create.json", "debezium_users_delete.json",
		"debezium_heartbeat_schema.json", "debezium_transaction_end.json",
		"debezium_schema_change.json", "flat_users_deleted.json", "json_users_row.json",
	} {
		f.Add(fixture(f, file))
	}
	for _, s := range []string{
		"", "null", "{}", "[]", `{"op":"d"}`, `{"op":"u","after":null}`,
		`{"a":"\ud83d\ude00\u00e9"}`, `{"a":1e999,"b":-0.0e-0}`, "{\"a\":\"\xc3\x28\"}",
		strings.Repeat("[", 70), `{"schema":{"fields":[{"field":"after","fields":[{"field":"x","name":"n"}]}]},"payload":{"op":"c","after":{"x":1}}}`,
	} {
		f.Add([]byte(s))
	}
	decoders := make([]*Decoder, 0, 4)
	for _, format := range []string{FormatDebezium, FormatFlat, FormatJSON} {
		decoders = append(decoders, mustNew(f, format))
	}
	decoders = append(decoders, mustNew(f, FormatDebezium, OnlyFields("x", "email")))
	// Rows read with their schema's layout must be the rows read without.
	// So must rows decoded by index be the rows decoded into maps.
	layoutPairs := [][2]*Decoder{layoutPair(f), layoutPair(f, OnlyFields("x", "email"), WithBefore("email"))}
	layoutPairs = append(layoutPairs, indexPairs(f, OnlyFields("x", "email"), WithBefore("email"))...)
	layoutPairs = append(layoutPairs, indexPairs(f, OnlyFields("email", "first_name", "tags"))...)
	f.Fuzz(func(t *testing.T, value []byte) {
		for _, d := range decoders {
			row, err := d.Decode(nil, value)
			if err != nil {
				var fail *change.Failure
				if !errors.As(err, &fail) || fail.Class != change.ClassDecode {
					t.Fatalf("%s: error %#v is not a decode failure", d.Format(), err)
				}
				continue
			}
			if row.Op < change.OpUpsert || row.Op > change.OpSkip {
				t.Fatalf("%s: invalid op %d", d.Format(), row.Op)
			}
			if d.Format() == FormatJSON && d.keep == nil && len(value) > 0 && !json.Valid(value) {
				t.Fatalf("%s: accepted invalid JSON %q", d.Format(), value)
			}
		}
		checkAgainstEncodingJSON(t, decoders[2], value)
		for _, pair := range layoutPairs {
			sameWithoutLayouts(t, pair, value)
		}
	})
}

// checkAgainstEncodingJSON compares the json format with encoding/json.
func checkAgainstEncodingJSON(t *testing.T, d *Decoder, value []byte) {
	row, err := d.Decode(nil, value)
	var want map[string]any
	dec := json.NewDecoder(bytes.NewReader(value))
	dec.UseNumber()
	stdErr := dec.Decode(&want)
	if stdErr == nil && strings.Trim(string(value[dec.InputOffset():]), " \t\r\n") != "" {
		stdErr = errors.New("trailing data")
	}
	if err != nil {
		if stdErr == nil && want != nil && !strings.Contains(err.Error(), "nesting deeper") &&
			!strings.Contains(err.Error(), "invalid UTF-8") {
			t.Fatalf("rejected %q that encoding/json accepts: %v", value, err)
		}
		return
	}
	if row.Op != change.OpUpsert || stdErr != nil {
		return
	}
	if !reflect.DeepEqual(row.Fields, want) {
		t.Fatalf("decoded %q as %#v, encoding/json as %#v", value, row.Fields, want)
	}
}

// FuzzDecodeBinary feeds arbitrary values to the Avro and Protobuf
// decoders, against a registry holding the schemas of a users table, a
// changed one and a heartbeat. The seeds are real messages of each; the
// fuzzer mutates headers (schema ids, index lists) and bodies. A decoder
// must never panic, and with the registry up must fail only with class
// decode failures, never claim the registry is unavailable.
func FuzzDecodeBinary(f *testing.F) {
	reg := srfake.New()
	f.Cleanup(reg.Close)
	registry, err := NewRegistry(RegistryConfig{URL: reg.URL()})
	if err != nil {
		f.Fatal(err)
	}
	registry.notFoundWaits = nil // mutated ids are unknown: no retries
	table := cdctest.Users()
	wider := table.WithColumn(cdctest.Column{Name: "nickname", Type: cdctest.String, Optional: true})
	var decoders []*Decoder
	for _, format := range []string{FormatAvro, FormatProtobuf} {
		w := writerFor(format, reg)
		for i, ev := range cdctest.UserEvents(2, 4, 5) {
			t := table
			if i == 3 {
				t = wider
			}
			_, value, err := w.Event(t, ev)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(value)
		}
		_, hb, err := w.Heartbeat("dbserver1", 1)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(hb)
		decoders = append(decoders, mustNew(f, format, WithRegistry(registry)),
			mustNew(f, format, WithRegistry(registry), OnlyFields("email", "tags")))
	}
	for _, s := range []string{"\x00", "\x00\x00\x00\x00\x01", "\x00\x00\x00\x00\x02\x02\x02", "\x01\x00\x00\x00\x01\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		for _, d := range decoders {
			row, err := d.Decode(nil, value)
			if err != nil {
				var fail *change.Failure
				if !errors.As(err, &fail) || fail.Class != change.ClassDecode {
					t.Fatalf("%s: error %v is not a decode failure", d.Format(), err)
				}
				continue
			}
			if row.Op < change.OpUpsert || row.Op > change.OpSkip {
				t.Fatalf("%s: invalid op %d", d.Format(), row.Op)
			}
		}
	})
}
