// Package dlq builds and reads dead-letter records: the original key, value
// and headers of a message that could not be synced, plus headers naming the
// failure (the Kafka Connect convention, so existing DLQ tooling reads them).
package dlq

import (
	"strconv"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// The headers a dead-letter record carries, beside the original ones.
const (
	HeaderTopic      = "__connect.errors.topic"
	HeaderPartition  = "__connect.errors.partition"
	HeaderOffset     = "__connect.errors.offset"
	HeaderClass      = "__connect.errors.exception.class.name"
	HeaderMessage    = "__connect.errors.exception.message"
	HeaderHTTPStatus = "attrsync.errors.http_status"
	HeaderAttempts   = "attrsync.errors.attempts"
	HeaderFailedAt   = "attrsync.errors.failed_at"
	// HeaderTruncated is set, to the original value's size in bytes, on a
	// dead letter whose value was cut to fit the dead-letter topic. It
	// describes the value, so it survives a later failure of the record.
	HeaderTruncated = "attrsync.errors.truncated"
)

// isFailureHeader says which headers are replaced, not repeated, when a
// record fails again.
func isFailureHeader(key string) bool {
	switch key {
	case HeaderTopic, HeaderPartition, HeaderOffset, HeaderClass,
		HeaderMessage, HeaderHTTPStatus, HeaderAttempts, HeaderFailedAt:
		return true
	}
	return false
}

// Record turns a message and the reason it failed into its dead letter.
// The message header carries the failure's Message, its Detail included:
// the record holds the original value anyway. Failure values never hold
// secrets.
// A message that is itself a dead letter being replayed keeps its original
// position in the headers, so a record is dead-lettered once, not nested.
func Record(m change.Message, f *change.Failure, now time.Time) change.Message {
	pos := OriginalPosition(m)
	hs := make([]change.Header, 0, len(m.Headers)+8)
	for _, h := range m.Headers {
		if !isFailureHeader(h.Key) {
			hs = append(hs, h)
		}
	}
	hs = append(hs,
		change.Header{Key: HeaderTopic, Value: []byte(pos.Topic)},
		change.Header{Key: HeaderPartition, Value: strconv.AppendInt(nil, int64(pos.Partition), 10)},
		change.Header{Key: HeaderOffset, Value: strconv.AppendInt(nil, pos.Offset, 10)},
		change.Header{Key: HeaderClass, Value: []byte(f.Class)},
		change.Header{Key: HeaderMessage, Value: []byte(f.Message())},
		change.Header{Key: HeaderHTTPStatus, Value: strconv.AppendInt(nil, int64(f.HTTPStatus), 10)},
		change.Header{Key: HeaderAttempts, Value: strconv.AppendInt(nil, int64(f.Attempts), 10)},
		change.Header{Key: HeaderFailedAt, Value: []byte(now.UTC().Format(time.RFC3339Nano))},
	)
	return change.Message{Key: m.Key, Value: m.Value, Headers: hs, Time: m.Time}
}

// OriginalPosition is where the message first came from: the position in a
// dead letter's headers, or the message's own position.
func OriginalPosition(m change.Message) change.Position {
	topic, ok := m.Header(HeaderTopic)
	if !ok {
		return m.Pos
	}
	part, _ := m.Header(HeaderPartition)
	off, _ := m.Header(HeaderOffset)
	p, err1 := strconv.Atoi(string(part))
	o, err2 := strconv.ParseInt(string(off), 10, 64)
	if err1 != nil || err2 != nil {
		return m.Pos
	}
	return change.Position{Topic: string(topic), Partition: p, Offset: o}
}

// Failure reads the failure a dead letter records. Its Reason is the whole
// message header, the Detail the record was written with included, so it is
// not for logs above debug level.
func Failure(m change.Message) (change.Failure, bool) {
	class, ok := m.Header(HeaderClass)
	if !ok {
		return change.Failure{}, false
	}
	msg, _ := m.Header(HeaderMessage)
	status, _ := m.Header(HeaderHTTPStatus)
	attempts, _ := m.Header(HeaderAttempts)
	s, _ := strconv.Atoi(string(status))
	a, _ := strconv.Atoi(string(attempts))
	return change.Failure{Class: change.Class(class), Reason: string(msg), HTTPStatus: s, Attempts: a}, true
}
