package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/cespare/xxhash/v2"
)

// The first byte of a stored record: whether it carries an intent, and
// whether Iterable ever accepted the user (an intent-only record is one
// for a user whose first request was in doubt: not Found, but Uncertain).
const (
	recordVersion           = 1
	recordVersionIntent     = 2
	recordVersionIntentOnly = 3
)

// epoch (2025-01-01T00:00:00Z) is the zero of stored accepted-at times:
// seconds since 2025 take a byte less than seconds since 1970 as a varint
// until 2033.
const epoch = 1735689600

// Record is what the state holds for one user, translated to the current
// mapping: slot i is the fingerprint of attribute i, 0 when none is stored.
type Record struct {
	// Found is false for a user the state has never seen.
	Found bool
	// Partition and Offset locate the newest message the record reflects,
	// in the topic identified by topic.
	Partition  int
	Offset     int64
	topic      uint32
	AcceptedAt time.Time
	fps        []uint64
	// intent is the newest position of a request that was sent for the
	// user and whose outcome was never recorded (see Store.Intend).
	intent intent
}

// intent locates the message a request in flight was built up to.
type intent struct {
	set       bool
	topic     uint32
	partition int
	offset    int64
}

// Uncertain reports whether a request for the user may have been applied
// by Iterable without the record knowing: it was sent (Store.Intend), and
// the process stopped before recording the outcome. The fingerprints may
// then differ from what Iterable holds, so the user's next change must
// send every attribute, not only those that differ from the record.
func (r Record) Uncertain() bool { return r.intent.set }

// BeforeIntent reports whether a message at pos is older than the newest
// message of the request in doubt (same partition, strictly before). Such
// a message is superseded: the intent's own message was not committed, so
// it is consumed again and sent, and sending the older one first could
// put an older value over a newer one.
func (r Record) BeforeIntent(pos change.Position) bool {
	return r.intent.set && r.intent.topic == topicHash(pos.Topic) && r.intent.partition == pos.Partition && pos.Offset < r.intent.offset
}

// Stale reports whether a message at pos is already reflected by the
// record: same topic and partition, at or before the stored offset.
func (r Record) Stale(pos change.Position) bool {
	return r.Found && r.topic == topicHash(pos.Topic) && r.Partition == pos.Partition && pos.Offset <= r.Offset
}

// Superseded reports whether a message at pos is older than the newest one
// the record reflects (same partition, strictly before). Replays with
// --force re-send the newest message but never an older one.
func (r Record) Superseded(pos change.Position) bool {
	return r.Found && r.topic == topicHash(pos.Topic) && r.Partition == pos.Partition && pos.Offset < r.Offset
}

// Fingerprints returns the stored fingerprint per slot (0: none stored).
func (r Record) Fingerprints() []uint64 { return r.fps }

// fingerprint of one attribute value. 0 is reserved for "none stored".
func fingerprint(a change.Attr) uint64 {
	d := xxhash.New()
	_, _ = d.WriteString(a.Name)
	_, _ = d.Write([]byte{0})
	_, _ = d.Write(a.JSON)
	if fp := d.Sum64(); fp != 0 {
		return fp
	}
	return 1
}

var errCorrupt = errors.New("corrupt state record")

// encode packs a record: version, layout id, topic hash, partition, offset,
// accepted-at (unix seconds), a bitmap of stored slots, then the stored
// fingerprints. Varints keep small numbers small.
func encode(layoutID uint32, r Record) []byte {
	n := len(r.fps)
	b := make([]byte, 0, 1+4+4+3*binary.MaxVarintLen64+(n+7)/8+8*n)
	version := byte(recordVersion)
	switch {
	case r.intent.set && !r.Found:
		version = recordVersionIntentOnly
	case r.intent.set:
		version = recordVersionIntent
	}
	b = append(b, version)
	b = binary.BigEndian.AppendUint32(b, layoutID)
	b = binary.BigEndian.AppendUint32(b, r.topic)
	b = binary.AppendUvarint(b, uint64(r.Partition))
	b = binary.AppendUvarint(b, uint64(r.Offset))
	b = binary.AppendUvarint(b, uint64(max(r.AcceptedAt.Unix()-epoch, 0)))
	if r.intent.set {
		b = binary.BigEndian.AppendUint32(b, r.intent.topic)
		b = binary.AppendUvarint(b, uint64(r.intent.partition))
		b = binary.AppendUvarint(b, uint64(r.intent.offset))
	}
	bitmap := make([]byte, (n+7)/8)
	for i, fp := range r.fps {
		if fp != 0 {
			bitmap[i/8] |= 1 << (i % 8)
		}
	}
	b = append(b, bitmap...)
	for _, fp := range r.fps {
		if fp != 0 {
			b = binary.BigEndian.AppendUint64(b, fp)
		}
	}
	return b
}

// decoded is a record as stored, before translation to the current layout.
type decoded struct {
	layoutID uint32
	rec      Record
	rest     []byte // bitmap and fingerprints, in the stored layout
}

func decodeHeader(b []byte) (decoded, error) {
	var d decoded
	if len(b) < 9 || b[0] < recordVersion || b[0] > recordVersionIntentOnly {
		return d, fmt.Errorf("%w: bad header", errCorrupt)
	}
	version := b[0]
	hasIntent := version != recordVersion
	d.layoutID = binary.BigEndian.Uint32(b[1:5])
	d.rec.topic = binary.BigEndian.Uint32(b[5:9])
	b = b[9:]
	var vals [3]uint64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return d, fmt.Errorf("%w: bad varint", errCorrupt)
		}
		vals[i], b = v, b[n:]
	}
	d.rec.Found = version != recordVersionIntentOnly
	d.rec.Partition = int(vals[0])
	d.rec.Offset = int64(vals[1])
	d.rec.AcceptedAt = time.Unix(int64(vals[2])+epoch, 0).UTC()
	if hasIntent {
		in, rest, err := decodeIntent(b)
		if err != nil {
			return d, err
		}
		d.rec.intent, b = in, rest
	}
	d.rest = b
	return d, nil
}

// decodeIntent reads an intent: topic hash, partition, offset.
func decodeIntent(b []byte) (intent, []byte, error) {
	if len(b) < 4 {
		return intent{}, nil, fmt.Errorf("%w: short intent", errCorrupt)
	}
	in := intent{set: true, topic: binary.BigEndian.Uint32(b[:4])}
	b = b[4:]
	part, n := binary.Uvarint(b)
	if n <= 0 {
		return intent{}, nil, fmt.Errorf("%w: bad intent partition", errCorrupt)
	}
	b = b[n:]
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return intent{}, nil, fmt.Errorf("%w: bad intent offset", errCorrupt)
	}
	in.partition, in.offset = int(part), int64(off)
	return in, b[n:], nil
}

// slots reads the stored fingerprints of a layout with n attributes.
func slots(rest []byte, n int) ([]uint64, error) {
	bm := (n + 7) / 8
	if len(rest) < bm {
		return nil, fmt.Errorf("%w: short bitmap", errCorrupt)
	}
	bitmap, data := rest[:bm], rest[bm:]
	fps := make([]uint64, n)
	for i := range n {
		if bitmap[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if len(data) < 8 {
			return nil, fmt.Errorf("%w: short fingerprints", errCorrupt)
		}
		fps[i] = binary.BigEndian.Uint64(data[:8])
		data = data[8:]
	}
	return fps, nil
}
