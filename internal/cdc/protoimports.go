package cdc

// Confluent's Protobuf serializers do not register the files every schema
// may import without saying where from: their own Meta options and Decimal
// type, and the google.type date and time of day that ProtobufConverter
// writes for Kafka Connect's Date and Time. The google/protobuf files come
// with the compiler (protocompile.WithStandardImports). These are written
// here from the published definitions: package, message and field names,
// numbers and types are what the wire format and the registry's schemas
// depend on. A schema that registers its own copy as a reference wins.
func knownProtoImports() map[string]string {
	return map[string]string{
		"confluent/meta.proto": `syntax = "proto3";
package confluent;
import "google/protobuf/descriptor.proto";

// Meta carries documentation, parameters (such as a decimal's precision
// and scale) and tags on files, messages, fields and enums.
message Meta {
  string doc = 1;
  map<string, string> params = 2;
  repeated string tags = 3;
}
extend google.protobuf.FileOptions { Meta file_meta = 1088; }
extend google.protobuf.MessageOptions { Meta message_meta = 1088; }
extend google.protobuf.FieldOptions { Meta field_meta = 1088; }
extend google.protobuf.EnumOptions { Meta enum_meta = 1088; }
extend google.protobuf.EnumValueOptions { Meta enum_value_meta = 1088; }
`,
		"confluent/type/decimal.proto": `syntax = "proto3";
package confluent.type;

// Decimal is an unscaled big-endian two's-complement integer and a scale.
message Decimal {
  bytes value = 1;
  uint32 precision = 2;
  int32 scale = 3;
}
`,
		"google/type/date.proto": `syntax = "proto3";
package google.type;

// Date is a calendar date: year, month (1-12) and day (1-31).
message Date {
  int32 year = 1;
  int32 month = 2;
  int32 day = 3;
}
`,
		"google/type/timeofday.proto": `syntax = "proto3";
package google.type;

// TimeOfDay is a time of day without a date or zone.
message TimeOfDay {
  int32 hours = 1;
  int32 minutes = 2;
  int32 seconds = 3;
  int32 nanos = 4;
}
`,
	}
}
