// Package testenv starts the real services that attrsync's tests run
// against: a redis-server process and an in-process Kafka-protocol broker.
// It is imported only by tests.
package testenv
