package cdc

import "testing"

func benchmarkDecode(b *testing.B, file string, opts ...Option) {
	d := mustNew(b, FormatDebezium, opts...)
	value := fixture(b, file)
	b.SetBytes(int64(len(value)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decode(nil, value); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeWrapped is a Postgres users update with the JsonConverter
// schema wrapper (5.5 kB, 16 columns), every field built.
func BenchmarkDecodeWrapped(b *testing.B) {
	benchmarkDecode(b, "debezium_users_update_schema.json")
}

// BenchmarkDecodeWrappedOnlyFields builds only the 10 fields a mapping reads.
func BenchmarkDecodeWrappedOnlyFields(b *testing.B) {
	benchmarkDecode(b, "debezium_users_update_schema.json", OnlyFields(
		"email", "first_name", "last_name", "phone", "plan", "signup_at",
		"birth_date", "is_active", "lifetime_value", "tags"))
}

// BenchmarkDecodeBare is the same change without the schema wrapper.
func BenchmarkDecodeBare(b *testing.B) {
	benchmarkDecode(b, "debezium_users_create.json")
}
