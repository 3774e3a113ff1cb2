package change

import "time"

// Header is one Kafka record header.
type Header struct {
	Key   string
	Value []byte
}

// Message is one Kafka record as attrsync sees it: where it came from and
// what it carried. Dead letters are Messages too.
type Message struct {
	Pos     Position
	Key     []byte
	Value   []byte
	Headers []Header
	// Time is the record timestamp.
	Time time.Time
	// HighWaterMark is the partition's end offset when the record was
	// fetched; it gives the consumer lag.
	HighWaterMark int64
}

// Header returns the value of the last header named key, and whether any was.
func (m Message) Header(key string) ([]byte, bool) {
	for i := len(m.Headers) - 1; i >= 0; i-- {
		if m.Headers[i].Key == key {
			return m.Headers[i].Value, true
		}
	}
	return nil, false
}
