package kafka

import (
	"sort"
	"sync"

	"github.com/attrsync/attrsync/internal/change"
)

// Offsets are commit offsets by topic and partition: for each partition, the
// offset of the next message to consume, as Kafka keeps it for a group.
type Offsets map[string]map[int]int64

// set records off as the offset of topic's partition part.
func (o Offsets) set(topic string, part int, off int64) {
	if o[topic] == nil {
		o[topic] = map[int]int64{}
	}
	o[topic][part] = off
}

// tracker follows, per partition, which handed-out messages are finished,
// and yields the contiguous watermark that may be committed: the offset of
// the oldest unfinished message, or one past the newest handed out when all
// are finished. Messages finish out of order (users in different requests),
// so a commit never passes a message that is still being worked on. It also
// releases each message's share of the held-message budget when it
// finishes.
type tracker struct {
	budget *budget

	mu    sync.Mutex
	parts map[partKey]*partTrack
}

type partKey struct {
	topic     string
	partition int
}

// partTrack is one partition's unfinished messages, oldest first.
type partTrack struct {
	pending []held
	next    int64 // one past the newest handed-out (or skipped) offset
	// committed is the last watermark handed out for commit.
	committed int64
}

// held is one handed-out message.
type held struct {
	offset int64
	cost   int64
	done   bool
}

func newTracker(b *budget) *tracker {
	return &tracker{budget: b, parts: map[partKey]*partTrack{}}
}

// start registers a partition whose consumption begins at offset (the
// committed offset, or a FirstOffset/LastOffset placeholder).
func (t *tracker) start(topic string, part int, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.parts[partKey{topic, part}] = &partTrack{next: offset, committed: offset}
}

// handedOut registers the message at offset as in progress; it holds cost
// of the budget until it finishes. Offsets of a partition come in order.
func (t *tracker) handedOut(topic string, part int, offset, cost int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.part(topic, part)
	p.pending = append(p.pending, held{offset: offset, cost: cost})
	p.next = offset + 1
}

// skipped registers the record at offset as one that is never handed out
// (a transaction marker, an aborted record): the watermark may pass it.
func (t *tracker) skipped(topic string, part int, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.part(topic, part)
	if len(p.pending) == 0 {
		p.next = offset + 1
		return
	}
	p.pending = append(p.pending, held{offset: offset, done: true})
	p.next = offset + 1
}

func (t *tracker) part(topic string, part int) *partTrack {
	k := partKey{topic, part}
	p, ok := t.parts[k]
	if !ok {
		p = &partTrack{committed: -1}
		t.parts[k] = p
	}
	return p
}

// Finish marks the handed-out message at pos finished. It implements the
// consumer's side of a session: every message handed to a Handler is
// finished exactly once, unless the session ends first.
func (t *tracker) Finish(pos change.Position) {
	t.mu.Lock()
	p, ok := t.parts[partKey{pos.Topic, pos.Partition}]
	if !ok {
		t.mu.Unlock()
		return
	}
	i := sort.Search(len(p.pending), func(i int) bool { return p.pending[i].offset >= pos.Offset })
	if i == len(p.pending) || p.pending[i].offset != pos.Offset || p.pending[i].done {
		t.mu.Unlock()
		return
	}
	p.pending[i].done = true
	cost := p.pending[i].cost
	n := 0
	for n < len(p.pending) && p.pending[n].done {
		n++
	}
	if n > 0 {
		p.pending = p.pending[n:]
	}
	t.mu.Unlock()
	t.budget.release(cost)
}

func (p *partTrack) watermark() int64 {
	if len(p.pending) > 0 {
		return p.pending[0].offset
	}
	return p.next
}

// commitable returns the watermarks that moved since the last commit.
// Negative start offsets (placeholders) are never returned.
func (t *tracker) commitable() Offsets {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := Offsets{}
	for k, p := range t.parts {
		if w := p.watermark(); w >= 0 && w != p.committed {
			out.set(k.topic, k.partition, w)
		}
	}
	return out
}

// committed records that offsets were committed.
func (t *tracker) committed(offsets Offsets) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for topic, parts := range offsets {
		for part, off := range parts {
			if p, ok := t.parts[partKey{topic, part}]; ok {
				p.committed = off
			}
		}
	}
}

// abandon gives back the budget of every message still unfinished when its
// session ended: its work was abandoned, it stays uncommitted, and the next
// session (this member's next generation) must not find the budget taken.
// A Finish that still comes for one changes nothing.
func (t *tracker) abandon() {
	t.mu.Lock()
	var cost int64
	for _, p := range t.parts {
		for _, h := range p.pending {
			if !h.done {
				cost += h.cost
			}
		}
		if len(p.pending) > 0 {
			// The watermark stays at the oldest unfinished message.
			p.next = p.pending[0].offset
		}
		p.pending = nil
	}
	t.mu.Unlock()
	t.budget.release(cost)
}

// outstanding is how many handed-out messages are not finished.
func (t *tracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, p := range t.parts {
		for _, h := range p.pending {
			if !h.done {
				n++
			}
		}
	}
	return n
}
