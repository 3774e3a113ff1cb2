package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/cespare/xxhash/v2"
)

// recordVersion is the first byte of every stored record.
const recordVersion = 1

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
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint32(b, layoutID)
	b = binary.BigEndian.AppendUint32(b, r.topic)
	b = binary.AppendUvarint(b, uint64(r.Partition))
	b = binary.AppendUvarint(b, uint64(r.Offset))
	b = binary.AppendUvarint(b, uint64(max(r.AcceptedAt.Unix()-epoch, 0)))
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
	if len(b) < 9 || b[0] != recordVersion {
		return d, fmt.Errorf("%w: bad header", errCorrupt)
	}
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
	d.rec.Found = true
	d.rec.Partition = int(vals[0])
	d.rec.Offset = int64(vals[1])
	d.rec.AcceptedAt = time.Unix(int64(vals[2])+epoch, 0).UTC()
	d.rest = b
	return d, nil
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
