package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Admin endpoints, for black-box tests of the iterable-sim binary. They need
// no API key, are never rate limited, faulted or recorded:
//
//	GET  /_sim/profiles          every profile (Profiles)
//	GET  /_sim/profiles/{id}     one profile by email or userId, 404 if absent
//	GET  /_sim/fields            the field schema (Fields)
//	GET  /_sim/stats             counters (Stats)
//	GET  /_sim/requests          the request log (Requests)
//	GET  /_sim/faults            the current faults (burst shows what is left)
//	POST /_sim/faults            replace the faults; body: Faults as JSON
//	POST /_sim/seed              {"email","userId","dataFields"} (SeedUser)
//	POST /_sim/forget            {"id"} (Forget)
//	POST /_sim/reset             Reset
//	GET  /_sim/quota             what other clients take (QuotaTaken)
//	POST /_sim/quota             {"endpoint","perSecond"} (TakeQuota)
func (s *Server) registerAdmin(mux *http.ServeMux) {
	s.registerQuotaAdmin(mux)
	mux.HandleFunc("GET /_sim/profiles", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.Profiles())
	})
	mux.HandleFunc("GET /_sim/profiles/{id...}", func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.Profile(r.PathValue("id"))
		if !ok {
			adminError(w, http.StatusNotFound, "no such profile")
			return
		}
		adminJSON(w, http.StatusOK, p)
	})
	mux.HandleFunc("GET /_sim/fields", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.Fields())
	})
	mux.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.Stats())
	})
	mux.HandleFunc("GET /_sim/requests", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.Requests())
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		adminJSON(w, http.StatusOK, s.CurrentFaults())
	})
	mux.HandleFunc("POST /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := decodeAdmin(r, &f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		s.SetFaults(f)
		adminJSON(w, http.StatusOK, s.CurrentFaults())
	})
	mux.HandleFunc("POST /_sim/seed", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Email      string         `json:"email"`
			UserID     string         `json:"userId"`
			DataFields map[string]any `json:"dataFields"`
		}
		if err := decodeAdmin(r, &in); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := s.SeedUser(in.Email, in.UserID, in.DataFields); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		adminJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sim/forget", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID string `json:"id"`
		}
		if err := decodeAdmin(r, &in); err != nil || in.ID == "" {
			adminError(w, http.StatusBadRequest, "body must be {\"id\": \"<email or userId>\"}")
			return
		}
		s.Forget(in.ID)
		adminJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("POST /_sim/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		adminJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		adminError(w, http.StatusNotFound, "no admin endpoint "+r.Method+" "+r.URL.Path)
	})
}

// SetFaults replaces the injected faults; the burst count starts afresh.
func (s *Server) SetFaults(f Faults) { s.faults.set(f) }

// CurrentFaults returns the faults in force, with Burst showing how many
// burst failures are left.
func (s *Server) CurrentFaults() Faults { return s.faults.get() }

func decodeAdmin(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode body: %w", err)
	}
	return nil
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client went away; nothing to do
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}

// faultsJSON is Faults on the wire: durations as Go duration strings
// ("150ms"); plain numbers are read as nanoseconds.
type faultsJSON struct {
	ErrorRate   float64      `json:"errorRate,omitempty"`
	ErrorStatus int          `json:"errorStatus,omitempty"`
	Burst       int          `json:"burst,omitempty"`
	BurstStatus int          `json:"burstStatus,omitempty"`
	Latency     jsonDuration `json:"latency,omitempty"`
	SpikeRate   float64      `json:"spikeRate,omitempty"`
	Spike       jsonDuration `json:"spike,omitempty"`
	RevokeKey   bool         `json:"revokeKey,omitempty"`
	RefuseValue string       `json:"refuseValue,omitempty"`
	RefuseCode  string       `json:"refuseCode,omitempty"`
	Endpoints   []string     `json:"endpoints,omitempty"`
}

// MarshalJSON encodes durations as strings such as "150ms".
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		ErrorRate: f.ErrorRate, ErrorStatus: f.ErrorStatus, Burst: f.Burst, BurstStatus: f.BurstStatus,
		Latency: jsonDuration(f.Latency), SpikeRate: f.SpikeRate, Spike: jsonDuration(f.Spike),
		RevokeKey: f.RevokeKey, RefuseValue: f.RefuseValue, RefuseCode: f.RefuseCode, Endpoints: f.Endpoints,
	})
}

// UnmarshalJSON accepts durations as strings ("150ms") or nanoseconds, and
// refuses unknown members so a typo in a test does not silently inject
// nothing.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var w faultsJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("faults: %w", err)
	}
	*f = Faults{
		ErrorRate: w.ErrorRate, ErrorStatus: w.ErrorStatus, Burst: w.Burst, BurstStatus: w.BurstStatus,
		Latency: time.Duration(w.Latency), SpikeRate: w.SpikeRate, Spike: time.Duration(w.Spike),
		RevokeKey: w.RevokeKey, RefuseValue: w.RefuseValue, RefuseCode: w.RefuseCode, Endpoints: w.Endpoints,
	}
	return nil
}

type jsonDuration time.Duration

func (d jsonDuration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *jsonDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("duration %q: %w", s, err)
		}
		*d = jsonDuration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration: want a string like \"150ms\" or nanoseconds: %w", err)
	}
	*d = jsonDuration(n)
	return nil
}
