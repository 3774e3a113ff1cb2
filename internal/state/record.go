package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// The first byte of a stored record: whether it carries an intent, and
// whether Iterable ever accepted the user (an intent-only record is one
// for a user whose first request was in doubt: not Found, but Uncertain).
// Versions 2 and 3 are intents written before intents named their owner
// and time; they are read as intents long expired.
const (
	recordVersion             = 1
	recordVersionIntentV1     = 2
	recordVersionIntentOnlyV1 = 3
	recordVersionIntent       = 4
	recordVersionIntentOnly   = 5
	// recordVersionFlags is followed by a byte of flags (below) instead of
	// the version telling them. Only records that need a flag the older
	// versions cannot tell (a gone user) are written this way, so every
	// other record keeps its size and format.
	recordVersionFlags = 6
)

// The flags of a recordVersionFlags record.
const (
	flagIntent   = 1 << 0
	flagNotFound = 1 << 1 // an intent-only record
	flagGone     = 1 << 2
	flagDeleted  = 1 << 3
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
	// Gone says Iterable no longer has the user as far as the state knows:
	// this sync deleted it, or moved its profile to another email. The
	// record keeps the position, so older messages stay stale, and no
	// fingerprint; the user does not count as existing (see Exists).
	Gone bool
	// Deleted says the user is gone because this sync deleted it, at
	// AcceptedAt. Iterable deletes asynchronously: a write to the user may
	// vanish with it until Iterable no longer finds the user.
	Deleted bool
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
	// raw is the record as stored when it was loaded or written (nil: no
	// record): what a compare-and-set expects to find.
	raw []byte
}

// intent locates the message a request in flight was built up to, and
// says who sent it and when.
type intent struct {
	set       bool
	topic     uint32
	partition int
	offset    int64
	owner     uint64    // the writing process's Store
	at        time.Time // when it was written (renewed before each attempt)
}

// Exists reports whether the state knows Iterable has the user: it
// accepted a write to it, and the user was not deleted or moved since.
func (r Record) Exists() bool { return r.Found && !r.Gone }

// Tombstone is the record of a user that is gone from Iterable at the
// message at pos (now): deleted by this sync, or moved to another email.
// It holds the position, so that older messages stay stale, and no
// fingerprint, so that a user who comes back is sent whole. Save it over r.
func Tombstone(r Record, pos change.Position, deleted bool, now time.Time) Record {
	return Record{
		Found: true, Gone: true, Deleted: deleted,
		Partition: pos.Partition, Offset: pos.Offset, topic: topicHash(pos.Topic),
		AcceptedAt: now.UTC().Truncate(time.Second),
		raw:        r.raw,
	}
}

// Moved is the record of a user whose profile Iterable just moved to it
// from the user of from (users/updateEmail): it holds from's fingerprints
// and position, since the profile holds what from's did. Save it over to.
func Moved(from, to Record) Record {
	from.intent, from.raw = intent{}, to.raw
	if !from.Exists() {
		// Iterable moved a profile the state knew nothing of: whatever it
		// holds, the user's next change sends every attribute.
		return Record{raw: to.raw}
	}
	return from
}

// Uncertain reports whether a request for the user may have been applied
// by Iterable without the record knowing: it was sent (Store.Intend), and
// the process stopped before recording the outcome. The fingerprints may
// then differ from what Iterable holds, so the user's next change must
// send every attribute, not only those that differ from the record.
func (r Record) Uncertain() bool { return r.intent.set }

// WithoutIntent is the record with its intent withdrawn, to save when the
// request it announced was answered and refused: it is no longer on its
// way. A user never accepted then has no record at all.
func (r Record) WithoutIntent() Record {
	r.intent = intent{}
	return r
}

// IntentLive reports whether the record carries an intent written less
// than lease before now: its request may still be on its way to Iterable,
// so no other request for the user may leave until it is settled or the
// lease runs out. Whoever wrote it renews it before every attempt.
func (r Record) IntentLive(now time.Time, lease time.Duration) bool {
	return r.intent.set && now.Before(r.intent.at.Add(lease))
}

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
	if fp := sum64(a.Name, 0, a.JSON); fp != 0 {
		return fp
	}
	return 1
}

var errCorrupt = errors.New("corrupt state record")

// intentSize is the most an intent adds to an encoded record.
const intentSize = 4 + 3*binary.MaxVarintLen64 + 8

// encode packs a record: version, layout id, topic hash, partition, offset,
// accepted-at (unix seconds), a bitmap of stored slots, then the stored
// fingerprints. Varints keep small numbers small.
func encode(layoutID uint32, r Record) []byte {
	n := len(r.fps)
	b := make([]byte, 0, 1+4+4+3*binary.MaxVarintLen64+(n+7)/8+8*n+intentSize)
	version := byte(recordVersion)
	switch {
	case r.Gone:
		version = recordVersionFlags
	case r.intent.set && !r.Found:
		version = recordVersionIntentOnly
	case r.intent.set:
		version = recordVersionIntent
	}
	b = append(b, version)
	if version == recordVersionFlags {
		b = append(b, flagsOf(r))
	}
	b = binary.BigEndian.AppendUint32(b, layoutID)
	b = binary.BigEndian.AppendUint32(b, r.topic)
	b = binary.AppendUvarint(b, uint64(r.Partition))
	b = binary.AppendUvarint(b, uint64(r.Offset))
	b = binary.AppendUvarint(b, uint64(max(r.AcceptedAt.Unix()-epoch, 0)))
	if r.intent.set {
		b = binary.BigEndian.AppendUint32(b, r.intent.topic)
		b = binary.AppendUvarint(b, uint64(r.intent.partition))
		b = binary.AppendUvarint(b, uint64(r.intent.offset))
		b = binary.BigEndian.AppendUint64(b, r.intent.owner)
		// Milliseconds since 1970, not since epoch: an intent's time is
		// compared, not only shown, and must hold for any clock.
		b = binary.AppendUvarint(b, uint64(max(r.intent.at.UnixMilli(), 0)))
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

// flagsOf is the flags byte of r.
func flagsOf(r Record) byte {
	var f byte
	if r.intent.set {
		f |= flagIntent
	}
	if !r.Found {
		f |= flagNotFound
	}
	if r.Gone {
		f |= flagGone
	}
	if r.Deleted {
		f |= flagDeleted
	}
	return f
}

func decodeHeader(b []byte) (decoded, error) {
	var d decoded
	if len(b) < 9 || b[0] < recordVersion || b[0] > recordVersionFlags {
		return d, fmt.Errorf("%w: bad header", errCorrupt)
	}
	version := b[0]
	hasIntent := version != recordVersion
	intentOnly := version == recordVersionIntentOnly || version == recordVersionIntentOnlyV1
	if version == recordVersionFlags {
		flags := b[1]
		b = b[1:]
		if len(b) < 9 {
			return d, fmt.Errorf("%w: bad header", errCorrupt)
		}
		hasIntent, intentOnly = flags&flagIntent != 0, flags&flagNotFound != 0
		d.rec.Gone, d.rec.Deleted = flags&flagGone != 0, flags&flagDeleted != 0
		// Intents of this version name their owner and time.
		version = recordVersionIntent
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
	d.rec.Found = !intentOnly
	d.rec.Partition = int(vals[0])
	d.rec.Offset = int64(vals[1])
	d.rec.AcceptedAt = time.Unix(int64(vals[2])+epoch, 0).UTC()
	if hasIntent {
		in, rest, err := decodeIntent(b, version >= recordVersionIntent)
		if err != nil {
			return d, err
		}
		d.rec.intent, b = in, rest
	}
	d.rest = b
	return d, nil
}

// decodeIntent reads an intent: topic hash, partition, offset, and, when
// withOwner, the owner and the time it was written.
func decodeIntent(b []byte, withOwner bool) (intent, []byte, error) {
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
	b = b[n:]
	if !withOwner {
		return in, b, nil
	}
	if len(b) < 8 {
		return intent{}, nil, fmt.Errorf("%w: short intent owner", errCorrupt)
	}
	in.owner = binary.BigEndian.Uint64(b[:8])
	ms, n := binary.Uvarint(b[8:])
	if n <= 0 {
		return intent{}, nil, fmt.Errorf("%w: bad intent time", errCorrupt)
	}
	in.at = time.UnixMilli(int64(ms)).UTC()
	return in, b[8+n:], nil
}

// slots reads the stored fingerprints of a layout with len(fps) attributes
// into fps, which comes zeroed: those not stored stay 0.
func slots(fps []uint64, rest []byte) error {
	n := len(fps)
	bm := (n + 7) / 8
	if len(rest) < bm {
		return fmt.Errorf("%w: short bitmap", errCorrupt)
	}
	bitmap, data := rest[:bm], rest[bm:]
	for i := range n {
		if bitmap[i/8]&(1<<(i%8)) == 0 {
			continue
		}
		if len(data) < 8 {
			return fmt.Errorf("%w: short fingerprints", errCorrupt)
		}
		fps[i] = binary.BigEndian.Uint64(data[:8])
		data = data[8:]
	}
	return nil
}
