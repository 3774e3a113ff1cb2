// Package mapping turns a decoded CDC row into what it asks of one Iterable
// user: the normalised identifier and the mapped attributes, each converted
// to its declared type and encoded as canonical JSON (SPEC §3 "Identify",
// "Map and convert").
//
// A Mapper is compiled once from the iterable section of the config (paths
// split, types and units resolved) and is then safe for concurrent use.
// Map allocates little: the attribute slice, one buffer shared by all the
// attribute values, and the identifier string.
//
// Decisions worth knowing:
//
//   - Paths: "a.b.c" walks nested objects. A field missing anywhere on the
//     path is "not present" and the attribute is omitted; a present null
//     on the path reads as null. A string on the path that holds a JSON
//     object (Debezium sends Postgres json/jsonb columns as strings,
//     logical type io.debezium.data.Json) is walked into. Any other scalar
//     or an array on the path is a convert failure: the row does not have
//     the shape the mapping declares.
//   - Unavailable values: Debezium's Postgres connector sends a placeholder
//     (source.unavailable_value) for a TOASTed column an update did not
//     touch. It is not the value, so a field holding it, in whichever shape
//     the column's type gives it, is "not present", on the path too.
//   - Identifiers: emails are trimmed, lowercased and checked like
//     Iterable's Apache Commons EmailValidator (approximated: one @, a
//     local part of dot-separated atoms without spaces, control characters
//     or ()<>,;:\"[], a domain of at least two letter-digit-hyphen labels
//     whose top-level label is alphabetic or punycode with at least two
//     characters; no quoted local parts or IP-literal domains). userIds are
//     kept exactly and must be 1 to 52 printable ASCII characters without a
//     trailing space. A JSON integer is accepted as a userId as its decimal
//     text, because numeric primary keys are the common userId. Failure
//     reasons never repeat the identifier: it is personal data, and the
//     DLQ keeps the original message.
//   - Numbers: integers must fit Iterable's long (int64) for type number;
//     fractions must be finite doubles. Under type auto a number is passed
//     on as it is, only re-encoded canonically. Canonical numbers keep the
//     integer / fraction distinction (1.0 stays a double as "1.0"), because
//     Iterable fixes a field's type from the first value it sees.
//   - Dates are sent as "yyyy-MM-dd HH:mm:ss +00:00" in UTC, to the second
//     (fractions are truncated), for years 0000 to 9999.
//   - A delete under on_delete "unset" sends null for every mapped
//     attribute (nulls: skip included: the row is gone) and asks to forget
//     the state. A delete that carries no row at all (a tombstone, or a
//     before image the source did not send) cannot name a user and is
//     ignored: Debezium follows every delete event with a tombstone.
//   - A delete under on_delete "delete" asks to delete the user. One whose
//     row does not name the user (a tombstone, Postgres's key-only before
//     image) still maps, with a zero User, for the pipeline to resolve
//     through the message key.
//   - An update's before image (cdc.WithBefore) holding another email
//     than the row, under identifier.as email, is an email change: From
//     names the email the profile is to move from.
package mapping
