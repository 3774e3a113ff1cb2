package state

// InTopic reports whether the record's stored position is in topic. The
// record keeps only a hash of its topic, so the caller names candidates.
func (r Record) InTopic(topic string) bool {
	return r.Found && r.topic == topicHash(topic)
}
