package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/cespare/xxhash/v2"
	"github.com/redis/go-redis/v9"
)

// Store reads and advances per-user state for one sync.
type Store struct {
	rdb      redis.UniversalClient
	base     string // <prefix>:<sync>
	attrs    []string
	slot     map[string]int
	layoutID uint32

	mu      sync.Mutex
	layouts map[uint32][]string // attribute lists of layouts seen, by id
}

// New returns the store of sync syncName for a mapping whose Iterable field
// names are attrs, in mapping order, and records that layout in Redis so
// later mappings can read records written under it.
func New(ctx context.Context, rdb redis.UniversalClient, keyPrefix, syncName string, attrs []string) (*Store, error) {
	s := &Store{
		rdb:     rdb,
		base:    keyPrefix + ":" + syncName,
		attrs:   append([]string(nil), attrs...),
		slot:    make(map[string]int, len(attrs)),
		layouts: map[uint32][]string{},
	}
	for i, a := range attrs {
		s.slot[a] = i
	}
	s.layoutID = uint32(xxhash.Sum64String(strings.Join(attrs, "\x00")))
	s.layouts[s.layoutID] = s.attrs
	layout, _ := json.Marshal(attrs)
	if err := rdb.SetNX(ctx, s.layoutKey(s.layoutID), layout, 0).Err(); err != nil {
		return nil, fmt.Errorf("state: record attribute layout: %w", err)
	}
	return s, nil
}

func (s *Store) layoutKey(id uint32) string {
	return s.base + ":layout:" + strconv.FormatUint(uint64(id), 16)
}

// Load reads the records of users in one pipelined round trip (plus one more
// only when a record was written under a mapping this process has not seen).
func (s *Store) Load(ctx context.Context, users []change.Identifier) ([]Record, error) {
	recs := make([]Record, len(users))
	if len(users) == 0 {
		return recs, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(users))
	for i, u := range users {
		k := keyOf(u)
		cmds[i] = pipe.HGet(ctx, s.bucketKey(k.bucket), string(k.field[:]))
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("state: load %d users: %w", len(users), err)
	}
	for i, cmd := range cmds {
		b, err := cmd.Bytes()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("state: load: %w", err)
		}
		rec, err := s.translate(ctx, b)
		if err != nil {
			return nil, err
		}
		recs[i] = rec
	}
	return recs, nil
}

// translate decodes a stored record into the current layout. Fingerprints of
// attributes no longer mapped are dropped; new attributes have none.
func (s *Store) translate(ctx context.Context, b []byte) (Record, error) {
	d, err := decodeHeader(b)
	if err != nil {
		return Record{}, err
	}
	names, err := s.layout(ctx, d.layoutID)
	if err != nil {
		return Record{}, err
	}
	fps, err := slots(d.rest, len(names))
	if err != nil {
		return Record{}, err
	}
	rec := d.rec
	if d.layoutID == s.layoutID {
		rec.fps = fps
		return rec, nil
	}
	rec.fps = make([]uint64, len(s.attrs))
	for i, name := range names {
		if j, ok := s.slot[name]; ok {
			rec.fps[j] = fps[i]
		}
	}
	return rec, nil
}

func (s *Store) layout(ctx context.Context, id uint32) ([]string, error) {
	s.mu.Lock()
	names, ok := s.layouts[id]
	s.mu.Unlock()
	if ok {
		return names, nil
	}
	b, err := s.rdb.Get(ctx, s.layoutKey(id)).Bytes()
	if err != nil {
		return nil, fmt.Errorf("state: read attribute layout %x: %w", id, err)
	}
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("state: attribute layout %x: %w", id, err)
	}
	s.mu.Lock()
	s.layouts[id] = names
	s.mu.Unlock()
	return names, nil
}

// Changed returns the attributes of attrs whose value differs from what the
// record says Iterable last accepted, or that it has no fingerprint for.
// It reuses attrs' backing array when nothing is dropped.
func (s *Store) Changed(r Record, attrs []change.Attr) []change.Attr {
	var out []change.Attr
	for i, a := range attrs {
		j, ok := s.slot[a.Name]
		if ok && j < len(r.fps) && r.fps[j] != 0 && r.fps[j] == fingerprint(a) {
			if out == nil {
				out = append(make([]change.Attr, 0, len(attrs)), attrs[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, a)
		}
	}
	if out == nil {
		return attrs
	}
	return out
}

// Apply returns the record after Iterable accepted sent for the change at
// pos: sent attributes take their new fingerprints, the others keep theirs;
// forget drops every fingerprint but keeps the position, so an older message
// replayed later is still recognised as stale.
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
	}
}

// Intend records, before a request is sent, that the users' values up to
// positions are on their way to Iterable. If the process stops before Save
// records the outcome, the next owner finds the records Uncertain and
// resends whole users rather than trusting fingerprints Iterable may have
// moved past. One pipelined round trip per request.
func (s *Store) Intend(ctx context.Context, users []change.Identifier, recs []Record, positions []change.Position) error {
	marked := make([]Record, len(recs))
	for i, r := range recs {
		r.intent = intent{set: true, topic: topicHash(positions[i].Topic), partition: positions[i].Partition, offset: positions[i].Offset}
		if len(r.fps) != len(s.attrs) {
			r.fps = make([]uint64, len(s.attrs))
		}
		marked[i] = r
	}
	return s.Save(ctx, users, marked)
}

// Save writes records in one pipelined round trip.
func (s *Store) Save(ctx context.Context, users []change.Identifier, recs []Record) error {
	if len(users) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	for i, u := range users {
		k := keyOf(u)
		pipe.HSet(ctx, s.bucketKey(k.bucket), string(k.field[:]), encode(s.layoutID, recs[i]))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("state: save %d users: %w", len(users), err)
	}
	return nil
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
