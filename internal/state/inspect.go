package state

// InTopic reports whether the record's stored position is in topic. The
// record keeps only a hash of its topic, so the caller names candidates.
func (r Record) InTopic(topic string) bool {
	return r.Found && r.topic == topicHash(topic)
}

// Intent returns the partition and offset of a request in doubt (see
// Uncertain), and whether there is one.
func (r Record) Intent() (partition int, offset int64, ok bool) {
	return r.intent.partition, r.intent.offset, r.intent.set
}
