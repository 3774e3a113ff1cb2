// Package kafka is attrsync's side of Kafka, on github.com/segmentio/kafka-go:
// consumer-group generations with offsets committed by attrsync (never
// auto-commit), one fetcher per owned partition, contiguous offset
// watermarks, and the dead-letter writer.
package kafka
