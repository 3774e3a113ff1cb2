// Package change holds attrsync's domain types: a decoded CDC row, the user
// change it maps to, where a message sits in Kafka, and how a failure is
// classified. It imports nothing beyond the standard library so that every
// other package can speak in its terms without depending on each other.
package change
