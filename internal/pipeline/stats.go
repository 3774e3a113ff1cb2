package pipeline

import (
	"sync"
	"sync/atomic"
)

// Stats counts what the pipeline did. Every consumed message ends up in
// exactly one of Unchanged, Stale, Skipped, Absent, DeadLettered or
// Accepted (the messages behind accepted users), so their sum equals
// Consumed once the pipeline is idle.
type Stats struct {
	Consumed     atomic.Int64
	Skipped      atomic.Int64 // skipped by rule: heartbeats, ignored deletes, ...
	Stale        atomic.Int64 // already reflected by the stored state
	Unchanged    atomic.Int64 // messages whose user had no changed attribute
	Absent       atomic.Int64 // messages of users that update mode did not touch
	DeadLettered atomic.Int64
	Accepted     atomic.Int64 // messages whose user Iterable accepted

	UsersChanged   atomic.Int64 // users sent (counted per request user)
	UsersUnchanged atomic.Int64
	UsersAbsent    atomic.Int64
	UsersRejected  atomic.Int64
	AttrsSent      atomic.Int64
	Requests       atomic.Int64
	RequestBytes   atomic.Int64
	Retries        atomic.Int64
	Lookups        atomic.Int64

	mu        sync.Mutex
	skipWhy   map[string]int64
	deadClass map[string]int64
	status    map[int]int64
}

func (s *Stats) skip(reason string, n int64) {
	s.Skipped.Add(n)
	s.mu.Lock()
	if s.skipWhy == nil {
		s.skipWhy = map[string]int64{}
	}
	s.skipWhy[reason] += n
	s.mu.Unlock()
}

func (s *Stats) dead(class string) {
	s.DeadLettered.Add(1)
	s.mu.Lock()
	if s.deadClass == nil {
		s.deadClass = map[string]int64{}
	}
	s.deadClass[class]++
	s.mu.Unlock()
}

func (s *Stats) request(status int, bytes int) {
	s.Requests.Add(1)
	s.RequestBytes.Add(int64(bytes))
	s.mu.Lock()
	if s.status == nil {
		s.status = map[int]int64{}
	}
	s.status[status]++
	s.mu.Unlock()
}

// SkippedBy returns skip counts by reason.
func (s *Stats) SkippedBy() map[string]int64 {
	return s.copyOf(func() map[string]int64 { return s.skipWhy })
}

// DeadLetteredBy returns dead-letter counts by failure class.
func (s *Stats) DeadLetteredBy() map[string]int64 {
	return s.copyOf(func() map[string]int64 { return s.deadClass })
}

// RequestsByStatus returns bulkUpdate request counts by HTTP status (0: no answer).
func (s *Stats) RequestsByStatus() map[int]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int]int64, len(s.status))
	for k, v := range s.status {
		out[k] = v
	}
	return out
}

func (s *Stats) copyOf(m func() map[string]int64) map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for k, v := range m() {
		out[k] = v
	}
	return out
}

// Finished is the number of consumed messages that reached an end.
func (s *Stats) Finished() int64 {
	return s.Skipped.Load() + s.Stale.Load() + s.Unchanged.Load() + s.Absent.Load() +
		s.DeadLettered.Load() + s.Accepted.Load()
}
