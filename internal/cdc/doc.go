// Package cdc turns the value (and key) of one Kafka message into a
// change.Row. It understands three shapes, chosen per sync by
// source.format:
//
//   - "debezium": the Debezium change-event envelope (before, after, source,
//     op, ts_ms), bare or inside the {"schema":…,"payload":…} wrapper that
//     Kafka Connect's JsonConverter writes when schemas.enable is on;
//   - "flat": the output of Debezium's ExtractNewRecordState SMT, a row with
//     optional __op / __deleted / __source_ts_ms metadata fields, bare or
//     wrapped;
//   - "json": one plain JSON object row per message;
//   - "avro" and "protobuf": the Debezium envelope as Confluent's
//     AvroConverter and ProtobufConverter write it, in the Confluent wire
//     format, with schemas fetched (once per id) from a schema registry
//     (Registry, WithRegistry). These decode to exactly the row the JSON
//     decoder builds from the JsonConverter's output for the same event,
//     so mapping behaves alike; a registry that cannot answer gives an
//     error wrapping ErrUnavailable, to be retried, not dead-lettered.
//
// Decoding is the hot path of attrsync, so the package carries its own small
// JSON reader instead of encoding/json: it converts the message to a string
// once and hands out substrings of it, skips the parts of the envelope that
// a sync never reads (source metadata, the before image of an upsert, the
// schema of every field but the row's), and can be told to build only the
// top-level row fields a mapping references (OnlyFields). It is strict: the
// whole message must be valid JSON (RFC 8259, valid UTF-8, nesting at most
// MaxDepth levels), and every failure is a *change.Failure of class decode
// (save ErrUnavailable above).
package cdc
