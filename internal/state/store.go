package state

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"
)

// Store reads and advances per-user state for one sync.
//
// Writes are compare-and-set: a record is replaced only if it still holds
// what the writer read, so a user's position only ever moves forward, even
// when another process (a replay, an evicted member) works on the same user.
type Store struct {
	be       backend
	rdb      redis.UniversalClient // nil for an in-memory store
	base     string                // <prefix>:<sync>
	attrs    []string
	slot     map[string]int
	layoutID uint32
	owner    uint64 // names this store's intents
	log      *slog.Logger

	mu      sync.Mutex
	layouts map[uint32][]string // attribute lists of layouts seen, by id
	warned  map[string]bool     // problems logged once
}

// Option configures a Store.
type Option func(*Store)

// WithLogger sets where the store reports records it cannot read.
func WithLogger(l *slog.Logger) Option {
	return func(s *Store) {
		if l != nil {
			s.log = l
		}
	}
}

// New returns the store of sync syncName in Redis for a mapping whose
// Iterable field names are attrs, in mapping order, and records that layout
// so later mappings can read records written under it. A sync with no state
// yet gets its bucket count here (buckets.go).
func New(ctx context.Context, rdb redis.UniversalClient, keyPrefix, syncName string, attrs []string, opts ...Option) (*Store, error) {
	bits, err := bucketBitsOf(ctx, rdb, keyPrefix+":"+syncName)
	if err != nil {
		return nil, err
	}
	return open(ctx, rdb, keyPrefix, syncName, attrs, bits, opts)
}

// open returns the store of a sync whose entries lie in 2^bits buckets.
func open(ctx context.Context, rdb redis.UniversalClient, keyPrefix, syncName string, attrs []string, bits uint8, opts []Option) (*Store, error) {
	s := newStore(keyPrefix, syncName, attrs, opts)
	layout, _ := json.Marshal(attrs)
	rb := &redisBackend{rdb: rdb, base: s.base, bits: bits, script: redis.NewScript(swapScript), layoutJSON: layout}
	rb.layoutKey = rb.layoutKeyOf(s.layoutID)
	s.be, s.rdb = rb, rdb
	if err := rdb.SetNX(ctx, rb.layoutKey, layout, 0).Err(); err != nil {
		return nil, fmt.Errorf("state: record attribute layout: %w", err)
	}
	return s, nil
}

// NewInMemory returns a store that keeps its records in memory, with the
// same semantics as New's. It serves tests that must not touch a network.
func NewInMemory(syncName string, attrs []string, opts ...Option) *Store {
	s := newStore("mem", syncName, attrs, opts)
	s.be = &memoryBackend{records: map[userKey][]byte{}, layouts: map[uint32][]byte{}}
	return s
}

func newStore(keyPrefix, syncName string, attrs []string, opts []Option) *Store {
	s := &Store{
		base:    keyPrefix + ":" + syncName,
		attrs:   append([]string(nil), attrs...),
		slot:    make(map[string]int, len(attrs)),
		layouts: map[uint32][]string{},
		warned:  map[string]bool{},
		log:     slog.Default(),
		owner:   newOwner(),
	}
	for i, a := range attrs {
		s.slot[a] = i
	}
	s.layoutID = uint32(xxhash.Sum64String(strings.Join(attrs, "\x00")))
	s.layouts[s.layoutID] = s.attrs
	for _, o := range opts {
		o(s)
	}
	return s
}

// newOwner is a random id for this store's intents.
func newOwner() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return binary.BigEndian.Uint64(b[:]) | 1
}

// Load reads the records of users in one round trip (plus one more only
// when a record was written under a mapping this process has not seen). A
// record that cannot be read (corrupt, or written under a layout that was
// deleted) counts as no state: the user's next change sends every
// attribute. Such problems are logged once each.
func (s *Store) Load(ctx context.Context, users []change.Identifier) ([]Record, error) {
	recs := make([]Record, len(users))
	if len(users) == 0 {
		return recs, nil
	}
	keys := make([]userKey, len(users))
	for i, u := range users {
		keys[i] = keyOf(u)
	}
	raws, err := s.be.get(ctx, keys)
	if err != nil {
		return nil, err
	}
	// The records' fingerprints share one array: an allocation per record
	// was a tenth of those an event makes on the diff path. The records of
	// one load are used and dropped together.
	found := 0
	for _, b := range raws {
		if b != nil {
			found++
		}
	}
	fps := make([]uint64, found*len(s.attrs))
	for i, b := range raws {
		if b == nil {
			continue
		}
		n := len(s.attrs)
		rec, err := s.translate(ctx, b, fps[:n:n])
		if err != nil {
			return nil, err
		}
		recs[i] = rec
		fps = fps[n:]
	}
	return recs, nil
}

// translate decodes a stored record into the current layout, its
// fingerprints into dst (zeroed, one per attribute mapped now). Fingerprints
// of attributes no longer mapped are dropped; new attributes have none. Only
// a failure to reach the backend is an error.
func (s *Store) translate(ctx context.Context, b []byte, dst []uint64) (Record, error) {
	unreadable := Record{raw: b}
	d, err := decodeHeader(b)
	if err != nil {
		s.warnOnce("corrupt", "state: a stored record is corrupt; the user is treated as never synced", "err", err)
		return unreadable, nil
	}
	names, err := s.layout(ctx, d.layoutID)
	if err != nil {
		return Record{}, err
	}
	if names == nil {
		s.warnOnce(fmt.Sprintf("layout %x", d.layoutID), "state: records name an attribute layout that is gone (state reset meanwhile?); their users are treated as never synced",
			"layout", fmt.Sprintf("%x", d.layoutID))
		return unreadable, nil
	}
	current := d.layoutID == s.layoutID
	fps := dst
	if !current {
		fps = make([]uint64, len(names))
	}
	if err := slots(fps, d.rest); err != nil {
		s.warnOnce("corrupt", "state: a stored record is corrupt; the user is treated as never synced", "err", err)
		return unreadable, nil
	}
	rec := d.rec
	rec.raw = b
	rec.fps = dst
	if current {
		return rec, nil
	}
	for i, name := range names {
		if j, ok := s.slot[name]; ok {
			rec.fps[j] = fps[i]
		}
	}
	return rec, nil
}

// warnOnce logs a problem the first time this store meets it.
func (s *Store) warnOnce(key, msg string, args ...any) {
	s.mu.Lock()
	seen := s.warned[key]
	s.warned[key] = true
	s.mu.Unlock()
	if !seen {
		s.log.Warn(msg, args...)
	}
}

// layout returns the attribute names of a layout id, nil when it is not
// recorded anywhere.
func (s *Store) layout(ctx context.Context, id uint32) ([]string, error) {
	s.mu.Lock()
	known, ok := s.layouts[id]
	s.mu.Unlock()
	if ok {
		return known, nil
	}
	b, err := s.be.layout(ctx, id)
	if err != nil || b == nil {
		return nil, err
	}
	// names is apart from known: the address Unmarshal takes moves a
	// variable to the heap, which for known cost an allocation per record
	// read.
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, nil // a damaged layout reads as a missing one
	}
	s.mu.Lock()
	s.layouts[id] = names
	s.mu.Unlock()
	return names, nil
}

// Changed returns the attributes of attrs whose value differs from what the
// record says Iterable last accepted, or that it has no fingerprint for.
// It returns attrs itself when nothing is dropped and an empty slice when
// everything is, so the common cases (every attribute changed, none
// changed) allocate nothing.
func (s *Store) Changed(r Record, attrs []change.Attr) []change.Attr {
	var flags [64]bool
	same := flags[:0] // same[i]: attrs[i] is unchanged
	n := 0
	for _, a := range attrs {
		j, ok := s.slot[a.Name]
		unchanged := ok && j < len(r.fps) && r.fps[j] != 0 && r.fps[j] == fingerprint(a)
		same = append(same, unchanged)
		if unchanged {
			n++
		}
	}
	switch n {
	case 0:
		return attrs
	case len(attrs):
		return attrs[:0:0]
	}
	out := make([]change.Attr, 0, len(attrs)-n)
	for i, a := range attrs {
		if !same[i] {
			out = append(out, a)
		}
	}
	return out
}

// Apply returns the record after Iterable accepted sent for the change at
// pos: sent attributes take their new fingerprints, the others keep theirs;
// forget drops every fingerprint but keeps the position, so an older message
// replayed later is still recognised as stale. The result carries no
// intent; save it over the record r was loaded as (or the intent written
// since).
func (s *Store) Apply(r Record, sent []change.Attr, pos change.Position, forget bool, now time.Time) Record {
	fps := make([]uint64, len(s.attrs))
	if !forget {
		copy(fps, r.fps)
		for _, a := range sent {
			if j, ok := s.slot[a.Name]; ok {
				fps[j] = fingerprint(a)
			}
		}
	}
	return Record{
		Found:      true,
		Partition:  pos.Partition,
		Offset:     pos.Offset,
		topic:      topicHash(pos.Topic),
		AcceptedAt: now.UTC().Truncate(time.Second),
		fps:        fps,
		raw:        r.raw,
	}
}

// Swap is the outcome of one user's compare-and-set.
type Swap struct {
	// Done says the record was written; Rec is then the record now stored,
	// to pass to the next write. Otherwise someone else wrote the user
	// since it was read, and Rec is what they stored.
	Done bool
	Rec  Record
}

// Intend records, before a request is sent, that the users' values up to
// positions are on their way to Iterable, in records this store owns as of
// now. While an intent is live (see Record.IntentLive) no other process
// sends for the user; if this process stops before Save records the
// outcome, the next owner finds the records Uncertain and resends whole
// users rather than trusting fingerprints Iterable may have moved past.
// Calling it again with the Swap records renews the intents.
func (s *Store) Intend(ctx context.Context, users []change.Identifier, recs []Record, positions []change.Position, now time.Time) ([]Swap, error) {
	marked := make([]Record, len(recs))
	for i, r := range recs {
		r.intent = intent{
			set: true, topic: topicHash(positions[i].Topic), partition: positions[i].Partition, offset: positions[i].Offset,
			owner: s.owner, at: now,
		}
		if len(r.fps) != len(s.attrs) {
			r.fps = make([]uint64, len(s.attrs))
		}
		marked[i] = r
	}
	return s.Save(ctx, users, marked)
}

// Save writes each record in place of the one it was derived from (the
// record as loaded, or as a previous Swap returned it), in one round trip;
// a user written by someone else meanwhile is left as it is and reported.
// A record that is neither Found nor carries an intent is deleted.
func (s *Store) Save(ctx context.Context, users []change.Identifier, recs []Record) ([]Swap, error) {
	if len(users) == 0 {
		return nil, nil
	}
	keys := make([]userKey, len(users))
	olds := make([][]byte, len(users))
	news := make([][]byte, len(users))
	for i, u := range users {
		keys[i], olds[i] = keyOf(u), recs[i].raw
		if recs[i].fps == nil {
			// A tombstone holds no fingerprint, in the current layout.
			recs[i].fps = make([]uint64, len(s.attrs))
		}
		if recs[i].Found || recs[i].intent.set {
			news[i] = encode(s.layoutID, recs[i])
		}
	}
	res, err := s.be.swap(ctx, keys, olds, news)
	if err != nil {
		return nil, err
	}
	out := make([]Swap, len(users))
	for i, r := range res {
		if r.done {
			rec := recs[i]
			rec.raw = news[i]
			out[i] = Swap{Done: true, Rec: rec}
			continue
		}
		if r.current == nil {
			out[i] = Swap{}
			continue
		}
		cur, err := s.translate(ctx, r.current, make([]uint64, len(s.attrs)))
		if err != nil {
			return nil, err
		}
		out[i] = Swap{Rec: cur}
	}
	return out, nil
}

// Inspect returns the record of one user and the attribute names its slots
// follow.
func (s *Store) Inspect(ctx context.Context, user change.Identifier) (Record, []string, error) {
	recs, err := s.Load(ctx, []change.Identifier{user})
	if err != nil {
		return Record{}, nil, err
	}
	return recs[0], s.attrs, nil
}
