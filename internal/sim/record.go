package sim

import (
	"maps"
	"slices"
	"time"
)

// Request is the record of one API request (admin requests are not
// recorded).
type Request struct {
	Time     time.Time     `json:"time"`
	Method   string        `json:"method"`
	Path     string        `json:"path"`
	Query    string        `json:"query,omitempty"`
	Endpoint string        `json:"endpoint"` // an Endpoint* constant
	Status   int           `json:"status"`   // 499: client left during injected latency
	Code     string        `json:"code,omitempty"`
	Duration time.Duration `json:"duration"`
	// Fault names the injected fault that shaped the answer, if any:
	// "latency", "revoked-key", "burst" or "error-rate".
	Fault       string `json:"fault,omitempty"`
	RateLimited bool   `json:"rateLimited,omitempty"` // refused by the rate limiter
	// Users is the number of users in a bulkUpdate body, 1 for a lookup.
	Users     int `json:"users"`
	BodyBytes int `json:"bodyBytes"`
	// Bulk is the decoded bulkUpdate body when it could be decoded (and
	// Options.DiscardBodies is off). It is shared, not copied: read only.
	Bulk *BulkUpdateRequest `json:"bulk,omitempty"`
}

// Stats are counters over the simulator's life (or since Reset).
type Stats struct {
	// Requests counts API requests by endpoint, then HTTP status.
	Requests map[string]map[int]int `json:"requests"`
	// UsersCreated and UsersUpdated count bulkUpdate users accepted as new
	// and existing profiles; UsersFailed those listed in failedUpdates.
	UsersCreated int `json:"usersCreated"`
	UsersUpdated int `json:"usersUpdated"`
	UsersFailed  int `json:"usersFailed"`
	// TypeMismatches counts requests refused with RequestFieldsTypesMismatched.
	TypeMismatches int `json:"typeMismatches"`
	// TooManyRequests counts every 429 answered; RateLimited only those from
	// the rate limiter (not injected).
	TooManyRequests int `json:"tooManyRequests"`
	RateLimited     int `json:"rateLimited"`
	// OrderRegressions counts accepted updates whose Options.VersionField
	// was lower than the profile's: an older value overwrote a newer one.
	OrderRegressions int `json:"orderRegressions"`
	// EmailsUpdated counts profiles updateEmail moved to a new email.
	EmailsUpdated int `json:"emailsUpdated"`
	// UsersDeleted counts profiles removed by a delete that took effect.
	UsersDeleted int `json:"usersDeleted"`
	// Profiles is the number of profiles held now.
	Profiles int `json:"profiles"`
}

// counters is the mutable part of Stats, guarded by Server.mu.
type counters struct {
	requests         map[string]map[int]int
	usersCreated     int
	usersUpdated     int
	usersFailed      int
	typeMismatches   int
	tooMany          int
	rateLimited      int
	orderRegressions int
	emailsUpdated    int
	usersDeleted     int
}

func (c *counters) init() { *c = counters{requests: map[string]map[int]int{}} }

// record stores a finished request and counts it.
func (s *Server) record(rec Request) {
	if s.opts.DiscardBodies {
		rec.Bulk = nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	byStatus := s.stats.requests[rec.Endpoint]
	if byStatus == nil {
		byStatus = map[int]int{}
		s.stats.requests[rec.Endpoint] = byStatus
	}
	byStatus[rec.Status]++
	if rec.Status == 429 {
		s.stats.tooMany++
		if rec.RateLimited {
			s.stats.rateLimited++
		}
	}
}

// Requests returns the recorded API requests in completion order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// Stats returns a snapshot of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyDeletions()
	reqs := make(map[string]map[int]int, len(s.stats.requests))
	for ep, m := range s.stats.requests {
		reqs[ep] = maps.Clone(m)
	}
	return Stats{
		Requests:         reqs,
		UsersCreated:     s.stats.usersCreated,
		UsersUpdated:     s.stats.usersUpdated,
		UsersFailed:      s.stats.usersFailed,
		TypeMismatches:   s.stats.typeMismatches,
		TooManyRequests:  s.stats.tooMany,
		RateLimited:      s.stats.rateLimited,
		OrderRegressions: s.stats.orderRegressions,
		EmailsUpdated:    s.stats.emailsUpdated,
		UsersDeleted:     s.stats.usersDeleted,
		Profiles:         s.st.count(),
	}
}

// Reset forgets everything the project learned (profiles, field types,
// forgotten users, pending deletions), the request log, counters, rate-limit
// state, quota taken by other clients and faults, keeping the Options.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st.init()
	s.stats.init()
	s.requests = nil
	s.deletions = nil
	s.pendingDeletions.Store(0)
	s.taken = map[string]float64{}
	s.mu.Unlock()
	for _, l := range s.limiters {
		l.reset()
	}
	s.faults.set(Faults{})
}
