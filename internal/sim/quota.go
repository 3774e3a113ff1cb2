package sim

import (
	"fmt"
	"maps"
	"net/http"
)

// TakeQuota models another client of the same project using perSecond
// requests per second of endpoint's rate limit (0 stops it), so that tests
// can check how a client shares Iterable's per-project quota.
//
// The other client's requests are modelled as getting through first: what
// it takes is subtracted from the rate the simulator's own clients get, and
// their requests are admitted against what is left. A client pacing below
// what is left sees no 429; one pacing above it sees them as soon as its
// excess outgrows the rate tolerance. Real requests of two clients would
// also collide now and then; leaving that out keeps tests that measure where
// a client settles repeatable.
func (s *Server) TakeQuota(endpoint string, perSecond float64) error {
	lim, known := s.limiters[endpoint]
	switch {
	case !known:
		return fmt.Errorf("sim: take quota: unknown endpoint %q", endpoint)
	case lim == nil:
		return fmt.Errorf("sim: take quota: endpoint %s has no rate limit", endpoint)
	case perSecond < 0 || perSecond > lim.perSecond:
		return fmt.Errorf("sim: take quota: %g/s is outside 0..%g/s, the limit of %s", perSecond, lim.perSecond, endpoint)
	}
	lim.take(perSecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if perSecond == 0 {
		delete(s.taken, endpoint)
	} else {
		s.taken[endpoint] = perSecond
	}
	return nil
}

// QuotaTaken returns what TakeQuota gave other clients, per endpoint.
func (s *Server) QuotaTaken() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.taken)
}

// registerQuotaAdmin adds the admin endpoints of TakeQuota:
//
//	GET  /_sim/quota   what other clients take, per endpoint
//	POST /_sim/quota   {"endpoint": "bulkUpdate", "perSecond": 2}; 0 stops
func (s *Server) registerQuotaAdmin(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/quota", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.QuotaTaken())
	})
	mux.HandleFunc("POST /_sim/quota", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Endpoint  string  `json:"endpoint"`
			PerSecond float64 `json:"perSecond"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.TakeQuota(in.Endpoint, in.PerSecond); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		adminJSON(w, http.StatusOK, s.QuotaTaken())
	})
}
