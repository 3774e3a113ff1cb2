package bench

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// acceptRecorder sits in front of the simulator and notes, for every user
// of every bulkUpdate request the simulator answers 200, when it was
// accepted and which value of the version attribute it carried. The
// pipeline has no hook for when Iterable accepted a given event, so the end
// of the end-to-end delay is measured on the Iterable side of the wire.
type acceptRecorder struct {
	next http.Handler

	mu      sync.Mutex
	accepts map[string][]accept // by email, in acceptance order
}

type accept struct {
	version uint32
	at      time.Time
}

func newAcceptRecorder(next http.Handler) *acceptRecorder {
	return &acceptRecorder{next: next, accepts: map[string][]accept{}}
}

// bulkBody is the part of a bulkUpdate body the recorder reads.
type bulkBody struct {
	Users []struct {
		Email      string `json:"email"`
		DataFields struct {
			Version uint32 `json:"version"`
		} `json:"dataFields"`
	} `json:"users"`
}

func (a *acceptRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/users/bulkUpdate" {
		a.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	a.next.ServeHTTP(sw, r)
	if sw.status != http.StatusOK {
		return
	}
	at := time.Now()
	var req bulkBody
	if json.Unmarshal(body, &req) != nil {
		return // the simulator accepted it, so this does not happen
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range req.Users {
		a.accepts[u.Email] = append(a.accepts[u.Email], accept{version: u.DataFields.Version, at: at})
	}
}

// acceptedAt returns when the change of email to version reached Iterable:
// the first acceptance of that version or a later one (a later event
// coalesced with it carries it too). ok is false when none was recorded.
func (a *acceptRecorder) acceptedAt(email string, version uint32) (at time.Time, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, acc := range a.accepts[email] {
		if acc.version >= version {
			return acc.at, true
		}
	}
	return time.Time{}, false
}

// statusWriter remembers the status code written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
