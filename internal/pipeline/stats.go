package pipeline

import (
	"maps"
	"sync"
	"sync/atomic"
)

// counter is one of the pipeline's live counters.
type counter = atomic.Int64

// Stats counts what the pipeline did. Every consumed message ends up in
// exactly one of Unchanged, Stale, Skipped, Absent, DeadLettered or
// Accepted (the messages behind accepted users), so their sum equals
// Consumed once the pipeline is idle.
type Stats struct {
	Consumed     counter
	Skipped      counter // skipped by rule: heartbeats, ignored deletes, ...
	Stale        counter // already reflected by the stored state
	Unchanged    counter // messages whose user had no changed attribute
	Absent       counter // messages of users that update mode did not touch
	DeadLettered counter
	Accepted     counter // messages whose user Iterable accepted

	UsersChanged      counter // users sent (counted per request user)
	UsersUnchanged    counter
	UsersAbsent       counter
	UsersRejected     counter
	AttrsSent         counter
	Requests          counter
	RequestBytes      counter
	Retries           counter
	Lookups           counter
	FieldsFilteredOut counter // fields of 200 answers that Iterable did not store
	EmailsMoved       counter // profiles moved to a new email (users/updateEmail)
	UsersDeleted      counter // users deleted (on_delete: delete)

	mu        sync.Mutex
	skipWhy   map[string]int64
	deadClass map[string]int64
	status    map[int]int64
}

// Snapshot is the pipeline's counters at one moment.
type Snapshot struct {
	Consumed, Skipped, Stale, Unchanged, Absent, DeadLettered, Accepted int64

	UsersChanged, UsersUnchanged, UsersAbsent, UsersRejected int64
	AttrsSent, Requests, RequestBytes, Retries, Lookups      int64
	FieldsFilteredOut, EmailsMoved, UsersDeleted             int64

	// SkippedBy counts skipped messages by reason, DeadLetteredBy dead
	// letters by failure class, RequestsByStatus bulkUpdate requests by HTTP
	// status (0: no answer).
	SkippedBy        map[string]int64
	DeadLetteredBy   map[string]int64
	RequestsByStatus map[int]int64
}

// Finished is the number of consumed messages that reached an end.
func (s Snapshot) Finished() int64 {
	return s.Skipped + s.Stale + s.Unchanged + s.Absent + s.DeadLettered + s.Accepted
}

func (s *Stats) snapshot() Snapshot {
	out := Snapshot{
		Consumed: s.Consumed.Load(), Skipped: s.Skipped.Load(), Stale: s.Stale.Load(),
		Unchanged: s.Unchanged.Load(), Absent: s.Absent.Load(), DeadLettered: s.DeadLettered.Load(),
		Accepted:     s.Accepted.Load(),
		UsersChanged: s.UsersChanged.Load(), UsersUnchanged: s.UsersUnchanged.Load(),
		UsersAbsent: s.UsersAbsent.Load(), UsersRejected: s.UsersRejected.Load(),
		AttrsSent: s.AttrsSent.Load(), Requests: s.Requests.Load(), RequestBytes: s.RequestBytes.Load(),
		Retries: s.Retries.Load(), Lookups: s.Lookups.Load(), FieldsFilteredOut: s.FieldsFilteredOut.Load(),
		EmailsMoved: s.EmailsMoved.Load(), UsersDeleted: s.UsersDeleted.Load(),
	}
	s.mu.Lock()
	out.SkippedBy = maps.Clone(s.skipWhy)
	out.DeadLetteredBy = maps.Clone(s.deadClass)
	out.RequestsByStatus = maps.Clone(s.status)
	s.mu.Unlock()
	for _, m := range []*map[string]int64{&out.SkippedBy, &out.DeadLetteredBy} {
		if *m == nil {
			*m = map[string]int64{}
		}
	}
	if out.RequestsByStatus == nil {
		out.RequestsByStatus = map[int]int64{}
	}
	return out
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
