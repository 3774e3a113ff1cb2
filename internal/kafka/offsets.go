package kafka

import "sync"

// Offsets tracks, per partition, which fetched messages are finished, and
// yields the contiguous watermark that may be committed: the offset of the
// oldest unfinished message, or one past the newest fetched when all are.
// Messages finish out of order (users in different requests), so a commit
// never passes a message that is still in flight.
type Offsets struct {
	mu    sync.Mutex
	parts map[partKey]*partition
}

type partKey struct {
	topic     string
	partition int
}

type partition struct {
	// pending holds fetched offsets in order; done marks finished ones. The
	// slice is trimmed from the front as the watermark advances.
	pending []int64
	done    map[int64]bool
	next    int64 // one past the newest fetched offset
	// committed is the last watermark handed out for commit.
	committed int64
}

// NewOffsets returns an empty tracker.
func NewOffsets() *Offsets { return &Offsets{parts: map[partKey]*partition{}} }

// Start registers a partition whose consumption begins at offset (the
// committed offset, or where the group's start_offset resolved to).
func (o *Offsets) Start(topic string, part int, offset int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.parts[partKey{topic, part}] = &partition{done: map[int64]bool{}, next: offset, committed: offset}
}

// Fetched registers a message as in progress. Offsets must arrive in order.
func (o *Offsets) Fetched(topic string, part int, offset int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p := o.part(topic, part, offset)
	p.pending = append(p.pending, offset)
	p.next = offset + 1
}

// Done marks a fetched message finished.
func (o *Offsets) Done(topic string, part int, offset int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.parts[partKey{topic, part}]
	if !ok {
		return
	}
	p.done[offset] = true
	i := 0
	for i < len(p.pending) && p.done[p.pending[i]] {
		delete(p.done, p.pending[i])
		i++
	}
	p.pending = p.pending[i:]
}

func (o *Offsets) part(topic string, part int, offset int64) *partition {
	k := partKey{topic, part}
	p, ok := o.parts[k]
	if !ok {
		p = &partition{done: map[int64]bool{}, next: offset, committed: -1}
		o.parts[k] = p
	}
	return p
}

func (p *partition) watermark() int64 {
	if len(p.pending) > 0 {
		return p.pending[0]
	}
	return p.next
}

// Commitable returns the watermarks that moved since the last call, by topic
// and partition, in the shape kafka-go commits. Negative start offsets
// (earliest/latest placeholders) are never returned.
func (o *Offsets) Commitable() map[string]map[int]int64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]map[int]int64{}
	for k, p := range o.parts {
		w := p.watermark()
		if w < 0 || w == p.committed {
			continue
		}
		if out[k.topic] == nil {
			out[k.topic] = map[int]int64{}
		}
		out[k.topic][k.partition] = w
	}
	return out
}

// Committed records that offsets were committed.
func (o *Offsets) Committed(offsets map[string]map[int]int64) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for topic, parts := range offsets {
		for part, off := range parts {
			if p, ok := o.parts[partKey{topic, part}]; ok {
				p.committed = off
			}
		}
	}
}

// Outstanding is how many fetched messages are not finished yet.
func (o *Offsets) Outstanding() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, p := range o.parts {
		n += len(p.pending)
	}
	return n
}
