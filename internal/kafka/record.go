package kafka

import (
	"github.com/attrsync/attrsync/internal/change"
	kafkago "github.com/segmentio/kafka-go"
)

// toKafka is the kafka-go message that writes m (its position is ignored).
func toKafka(m change.Message) kafkago.Message {
	km := kafkago.Message{Key: m.Key, Value: m.Value, Time: m.Time}
	if len(m.Headers) > 0 {
		km.Headers = make([]kafkago.Header, len(m.Headers))
		for i, h := range m.Headers {
			km.Headers[i] = kafkago.Header{Key: h.Key, Value: h.Value}
		}
	}
	return km
}
