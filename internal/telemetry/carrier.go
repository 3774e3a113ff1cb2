package telemetry

import (
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// headerCarrier lets OTel propagators read and write Kafka record headers.
// Header names are matched case-insensitively, as HTTP's are: W3C trace
// context names are lowercase, but producers are not always careful.
type headerCarrier struct {
	hs *[]change.Header
}

// Get returns the value of the last header named key.
func (c headerCarrier) Get(key string) string {
	for i := len(*c.hs) - 1; i >= 0; i-- {
		if strings.EqualFold((*c.hs)[i].Key, key) {
			return string((*c.hs)[i].Value)
		}
	}
	return ""
}

// Set replaces the headers named key by one with value.
func (c headerCarrier) Set(key, value string) {
	out := (*c.hs)[:0]
	for _, h := range *c.hs {
		if !strings.EqualFold(h.Key, key) {
			out = append(out, h)
		}
	}
	*c.hs = append(out, change.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header names.
func (c headerCarrier) Keys() []string {
	keys := make([]string, len(*c.hs))
	for i, h := range *c.hs {
		keys[i] = h.Key
	}
	return keys
}
