// Package state keeps what Iterable last accepted for each user, in Redis.
//
// For every user it stores a 64-bit fingerprint per mapped attribute (never
// the values), the position of the newest Kafka message the state reflects,
// and when Iterable accepted it. A change is diffed against that record, and
// the record advances only after Iterable accepted the user.
//
// Layout. Users are spread over bucket hashes (<prefix>:<sync>:s:<bucket>),
// 2^14 for a sync started by this version and 2^12 for one started
// earlier, a number stored with the sync (<prefix>:<sync>:buckets; see
// buckets.go). Each user is a field named by an 8-byte hash of its
// identifier, holding a packed binary record of about 100 bytes for ten
// attributes. Small hashes stay in Redis's listpack encoding, where a field
// costs a few bytes of overhead instead of the ~70 a top-level key costs;
// that is what keeps a synced user under 128 bytes of Redis memory. The slot
// order of fingerprints follows the mapping ("layout"); each layout's
// attribute list is stored once under <prefix>:<sync>:layout:<id>, so records
// written under an older mapping are still read correctly after attributes
// are added or removed.
package state
