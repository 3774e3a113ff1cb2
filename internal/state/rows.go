package state

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/attrsync/attrsync/internal/change"
)

// The row index says, for each source row, which user it named when
// Iterable last accepted a change of it. A row is a Kafka message key (the
// table's primary key under Debezium) in its topic. The index is what
// follows an email change when the source sends no before image (Postgres
// under REPLICA IDENTITY DEFAULT): the row's new email is new, its key is
// not, and the index names the email the profile is under. It also names
// the user of a delete that carries only the key.
//
// Like the records it lives in the sync's bucket hashes,
// <prefix>:<sync>:k:<bucket>, each row a field named by an 8-byte hash of
// topic and key, holding a version byte, the identifier's kind, the
// position of the message that set it (two varints) and the identifier
// itself. It is the one place the state keeps an identifier in clear: the
// move needs the old email, which no hash gives back. A row with a 25-byte
// email costs about 45 bytes of Redis memory (see the README).

// RowKey names one source row: its Kafka message key in its topic.
type RowKey struct {
	k userKey
}

// RowKeyOf is the row of a message with key in topic; the zero RowKey for
// a message without a key, which no row can be found for.
func RowKeyOf(topic string, key []byte) RowKey {
	if len(key) == 0 {
		return RowKey{}
	}
	k := userKey{space: spaceRows}
	binary.BigEndian.PutUint64(k.field[:], sum64(topic, 0, key))
	// An independent hash picks the bucket, as for users.
	h := uint32(2166136261)
	for i := 0; i < len(topic); i++ {
		h = (h ^ uint32(topic[i])) * 16777619
	}
	for _, c := range key {
		h = (h ^ uint32(c)) * 16777619
	}
	k.hash = h
	return RowKey{k: k}
}

// IsZero reports whether the key names no row.
func (k RowKey) IsZero() bool { return k == RowKey{} }

// Row is what the index holds for one source row.
type Row struct {
	// User is who the row named when Iterable last accepted a change of
	// it; zero when the index holds nothing for the row.
	User change.Identifier
	// Partition and Offset locate the message that set User.
	Partition int
	Offset    int64
	raw       []byte // as stored when read, what a compare-and-set expects
}

// rowVersion is the first byte of a stored row.
const rowVersion = 1

// Pointing is the row after a change of it at pos, naming user, was
// accepted; a zero user forgets the row (it was deleted). Save it over r.
func (r Row) Pointing(user change.Identifier, pos change.Position) Row {
	return Row{User: user, Partition: pos.Partition, Offset: pos.Offset, raw: r.raw}
}

// Before reports whether pos comes after the message that set the row, or
// the row holds nothing: a row moves only forward.
func (r Row) Before(pos change.Position) bool {
	return r.User.IsZero() || r.Partition != pos.Partition || r.Offset < pos.Offset
}

func encodeRow(r Row) []byte {
	if r.User.IsZero() {
		return nil
	}
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(r.User.Value))
	b = append(b, rowVersion, byte(r.User.Kind))
	b = binary.AppendUvarint(b, uint64(r.Partition))
	b = binary.AppendUvarint(b, uint64(r.Offset))
	return append(b, r.User.Value...)
}

func decodeRow(b []byte) (Row, error) {
	if len(b) < 2 || b[0] != rowVersion {
		return Row{}, fmt.Errorf("%w: bad row header", errCorrupt)
	}
	r := Row{User: change.Identifier{Kind: change.IDKind(b[1])}, raw: b}
	b = b[2:]
	part, n := binary.Uvarint(b)
	if n <= 0 {
		return Row{}, fmt.Errorf("%w: bad row partition", errCorrupt)
	}
	b = b[n:]
	off, n := binary.Uvarint(b)
	if n <= 0 {
		return Row{}, fmt.Errorf("%w: bad row offset", errCorrupt)
	}
	r.Partition, r.Offset = int(part), int64(off)
	r.User.Value = string(b[n:])
	return r, nil
}

// Lookup reads, in one round trip, the index's rows of keys (zero keys
// read as empty rows) and whether each of users is in the existence set
// that `attrsync prime` fills. Either list may be empty. A row that cannot
// be read counts as empty: the index only saves requests, it is never what
// makes a write correct.
func (s *Store) Lookup(ctx context.Context, keys []RowKey, users []change.Identifier) ([]Row, []bool, error) {
	ks := make([]userKey, 0, len(keys)+len(users))
	at := make([]int, len(keys)) // position of keys[i] in ks, -1 for a zero key
	for i, k := range keys {
		at[i] = -1
		if !k.IsZero() {
			at[i] = len(ks)
			ks = append(ks, k.k)
		}
	}
	first := len(ks)
	for _, u := range users {
		ks = append(ks, keyOf(u).in(spaceExistence))
	}
	rows := make([]Row, len(keys))
	exists := make([]bool, len(users))
	if len(ks) == 0 {
		return rows, exists, nil
	}
	raws, err := s.be.get(ctx, ks)
	if err != nil {
		return nil, nil, err
	}
	for i, j := range at {
		if j < 0 || raws[j] == nil {
			continue
		}
		r, err := decodeRow(raws[j])
		if err != nil {
			s.warnOnce("corrupt row", "state: a row of the index is corrupt; its row is treated as unknown", "err", err)
			r = Row{raw: raws[j]}
		}
		rows[i] = r
	}
	for i := range users {
		exists[i] = raws[first+i] != nil
	}
	return rows, exists, nil
}

// RowSwap is the outcome of one row's compare-and-set: Done, or what
// someone else stored meanwhile.
type RowSwap struct {
	Done bool
	Row  Row
}

// SaveRows writes each row in place of the one it was derived from, in one
// round trip; a row written by someone else meanwhile is left as it is and
// reported.
func (s *Store) SaveRows(ctx context.Context, keys []RowKey, rows []Row) ([]RowSwap, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ks := make([]userKey, len(keys))
	olds := make([][]byte, len(keys))
	news := make([][]byte, len(keys))
	for i, k := range keys {
		ks[i], olds[i], news[i] = k.k, rows[i].raw, encodeRow(rows[i])
	}
	res, err := s.be.swap(ctx, ks, olds, news)
	if err != nil {
		return nil, err
	}
	out := make([]RowSwap, len(keys))
	for i, r := range res {
		if r.done {
			row := rows[i]
			row.raw = news[i]
			out[i] = RowSwap{Done: true, Row: row}
			continue
		}
		if r.current != nil {
			cur, err := decodeRow(r.current)
			if err != nil {
				cur = Row{raw: r.current}
			}
			out[i].Row = cur
		}
	}
	return out, nil
}

// MarkExisting adds users to the existence set, in one round trip. `attrsync
// prime` fills the set through Existence; this serves stores of any
// backend, the in-memory one of tests included.
func (s *Store) MarkExisting(ctx context.Context, users []change.Identifier) error {
	return putExistence(ctx, s.be, users, []byte{})
}

// Unmark removes users from the existence set (this sync deleted them), in
// one round trip.
func (s *Store) Unmark(ctx context.Context, users []change.Identifier) error {
	return putExistence(ctx, s.be, users, nil)
}
