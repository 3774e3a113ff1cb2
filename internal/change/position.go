package change

import "fmt"

// Position locates one message in Kafka.
type Position struct {
	Topic     string
	Partition int
	Offset    int64
}

// String renders the position as topic/partition@offset for logs and errors.
func (p Position) String() string {
	return fmt.Sprintf("%s/%d@%d", p.Topic, p.Partition, p.Offset)
}

// SamePartition reports whether p and q are in the same topic partition,
// the only case in which their offsets can be compared.
func (p Position) SamePartition(q Position) bool {
	return p.Topic == q.Topic && p.Partition == q.Partition
}

// NotAfter reports whether p is at or before q in the same partition. Such a
// message is already reflected by a state that records q, so it is stale.
func (p Position) NotAfter(q Position) bool {
	return p.SamePartition(q) && p.Offset <= q.Offset
}
