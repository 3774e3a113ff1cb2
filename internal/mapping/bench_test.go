package mapping_test

import (
	"os"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/mapping"
)

// typical is a mapping of 10 attributes of the Postgres users fixture,
// covering every type and three Debezium logical time types.
var typical = mapping.Config{
	Identifier: mapping.Identifier{Source: "email", As: "email"},
	Attributes: []mapping.Attribute{
		{From: "first_name", To: "firstName"},
		{From: "last_name", To: "lastName", Type: "string"},
		{From: "phone", To: "phoneNumber", Nulls: "skip"},
		{From: "signup_at", To: "signedUpAt", Type: "date"},
		{From: "birth_date", To: "birthDate", Type: "date"},
		{From: "last_login_at", To: "lastLoginAt", Type: "date"},
		{From: "is_active", To: "isActive", Type: "boolean"},
		{From: "lifetime_value", To: "lifetimeValue", Type: "number"},
		{From: "credits", To: "credits", Type: "number"},
		{From: "tags", To: "tags"},
	},
}

func benchmarkDecodeAndMap(b *testing.B, cfg mapping.Config, onlyFields bool) {
	value, err := os.ReadFile("../cdc/testdata/debezium_users_update_schema.json")
	if err != nil {
		b.Fatal(err)
	}
	m, err := mapping.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var opts []cdc.Option
	if onlyFields {
		opts = append(opts, cdc.OnlyFields(m.SourceFields()...))
	}
	d, err := cdc.New("debezium", opts...)
	if err != nil {
		b.Fatal(err)
	}
	pos := change.Position{Topic: "dbserver1.public.users", Partition: 0}
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		row, err := d.Decode(nil, value)
		if err != nil {
			b.Fatal(err)
		}
		uc, err := m.Map(row, pos)
		if err != nil {
			b.Fatal(err)
		}
		if len(uc.Attrs) != 9 && len(uc.Attrs) != 10 {
			b.Fatalf("%d attributes", len(uc.Attrs))
		}
		pos.Offset++
	}
}

// BenchmarkDecodeAndMap is the hot path for a typical message: a Debezium
// update of a 16-column users table with the JsonConverter schema wrapper
// (5.5 kB), mapped onto 10 attributes, the decoder building only the
// fields the mapping reads (as the pipeline wires it).
func BenchmarkDecodeAndMap(b *testing.B) { benchmarkDecodeAndMap(b, typical, true) }

// BenchmarkDecodeAndMapAllFields is the same with every column built.
func BenchmarkDecodeAndMapAllFields(b *testing.B) { benchmarkDecodeAndMap(b, typical, false) }

// BenchmarkDecodeAndMapJSONColumn adds a path into a jsonb column, which
// Debezium sends as a string that must be parsed.
func BenchmarkDecodeAndMapJSONColumn(b *testing.B) {
	cfg := typical
	cfg.Attributes = append(append([]mapping.Attribute(nil), typical.Attributes[:9]...),
		mapping.Attribute{From: "plan.tier", To: "planTier"})
	benchmarkDecodeAndMap(b, cfg, true)
}

// BenchmarkMap is mapping alone.
func BenchmarkMap(b *testing.B) {
	value, err := os.ReadFile("../cdc/testdata/debezium_users_update_schema.json")
	if err != nil {
		b.Fatal(err)
	}
	m, err := mapping.New(typical)
	if err != nil {
		b.Fatal(err)
	}
	d, _ := cdc.New("debezium")
	row, err := d.Decode(nil, value)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Map(row, change.Position{}); err != nil {
			b.Fatal(err)
		}
	}
}
