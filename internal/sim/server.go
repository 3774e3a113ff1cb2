// Package sim is an Iterable API simulator: the user endpoints attrsync uses,
// with Iterable's documented rules enforced rather than echoed, so tests can
// assert on Iterable's end state instead of on mocks.
//
// It models one hybrid project (users have an email and/or a userId) and
// serves:
//
//	POST   /api/users/bulkUpdate
//	GET    /api/users/getByEmail?email=      GET /api/users/{email}
//	GET    /api/users/byUserId?userId=       GET /api/users/byUserId/{userId}
//	GET    /api/users/getFields              POST /api/users/updateEmail
//	DELETE /api/users/{email}                DELETE /api/users/byUserId/{userId}
//	GET    /api/export/data.json?dataTypeName=user
//
// plus admin endpoints under /_sim/ (see admin.go) for black-box tests of the
// iterable-sim binary. Every API request is checked for the Api-Key header,
// paced by per-endpoint GCRA rate limits, optionally disturbed by injected
// Faults, and recorded.
//
// Decisions where Iterable's behaviour is undocumented are written down next
// to the code that makes them and summarised in the Options documentation.
package sim

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint names, used in Request.Endpoint, Stats.Requests and
// Faults.Endpoints. Each has its own rate limit, as in Iterable.
const (
	EndpointBulkUpdate     = "bulkUpdate"     // POST /api/users/bulkUpdate
	EndpointGetByEmail     = "getByEmail"     // GET /api/users/getByEmail?email=
	EndpointGetByEmailPath = "getByEmailPath" // GET /api/users/{email}
	EndpointByUserID       = "byUserId"       // GET /api/users/byUserId?userId=
	EndpointByUserIDPath   = "byUserIdPath"   // GET /api/users/byUserId/{userId}
	EndpointGetFields      = "getFields"      // GET /api/users/getFields
	EndpointUpdateEmail    = "updateEmail"    // POST /api/users/updateEmail
	EndpointDeleteByEmail  = "deleteByEmail"  // DELETE /api/users/{email}
	EndpointDeleteByUserID = "deleteByUserId" // DELETE /api/users/byUserId/{userId}
	EndpointExport         = "exportData"     // GET /api/export/data.json
	EndpointUnknown        = "unknown"        // anything else; answered 404 NotFound
)

// Defaults applied by New to zero Options fields.
const (
	DefaultBulkUpdatePerSecond = 5.0
	DefaultLookupPerSecond     = 100.0
	DefaultGetFieldsPerSecond  = 3.0
	DefaultDeletePerSecond     = 100.0
	DefaultExportPerMinute     = 4.0
	// DefaultDeleteDelay is how long a deleted user stays visible. Iterable
	// documents its deletes as asynchronous without saying how long they
	// take; a second is long enough for a client that writes to a user
	// right after deleting it to see its write vanish, as it could in
	// Iterable.
	DefaultDeleteDelay = time.Second
	// DefaultMaxBodyBytes is Iterable's "4MB" bulkUpdate body limit read as
	// decimal megabytes. The stricter reading is the useful one for a test
	// oracle: a client that fits 4,000,000 bytes fits 4 MiB too, and it is the
	// ceiling attrsync (batch.max_bytes) and RudderStack use.
	DefaultMaxBodyBytes = 4_000_000
)

// Options configure a simulated Iterable project. The zero value is usable
// except for APIKey: with no key every request is answered 401.
type Options struct {
	// APIKey is the project's server-side key, expected in the Api-Key (or
	// Api_Key) header.
	APIKey string

	// BulkUpdatePerSecond is the bulkUpdate rate limit: 0 means 5 (Iterable's
	// documented limit), negative means unlimited.
	BulkUpdatePerSecond float64
	// LookupPerSecond is the limit of each user lookup endpoint: 0 means 100,
	// negative means unlimited.
	LookupPerSecond float64
	// RateTolerance is how early relative to an even pace a request may
	// arrive: 0 means DefaultRateTolerance, negative means none (strict).
	RateTolerance time.Duration
	// GetFieldsPerSecond limits getFields: 0 means 3, negative unlimited.
	GetFieldsPerSecond float64
	// DeletePerSecond limits each delete endpoint: 0 means 100, negative
	// unlimited.
	DeletePerSecond float64
	// UpdateEmailPerSecond limits updateEmail. Iterable states no limit for
	// it, so 0 means unlimited here; set one to test a client's pacing.
	UpdateEmailPerSecond float64
	// ExportPerMinute limits the export: 0 means 4 per minute, negative
	// unlimited.
	ExportPerMinute float64
	// RetryAfter adds a Retry-After header (whole seconds, at least 1) to 429
	// answers. Off by default because Iterable documents none.
	RetryAfter bool
	// RateLimitParams adds params {rateLimitLimit, rateLimitRemaining,
	// rateLimitReset} to 429 bodies: the endpoint's limit per its window
	// (per second; per minute for the export), 0, and when the next request
	// would be admitted in Unix milliseconds. Off by default because
	// Iterable documents no such params.
	RateLimitParams bool

	// DeleteDelay is how long a deleted user stays in the project before the
	// asynchronous deletion takes effect: 0 means DefaultDeleteDelay,
	// negative means at once.
	DeleteDelay time.Duration
	// ExportBySignupDate makes the user export's date range select users by
	// signupDate. By default it selects by profileUpdatedAt; Iterable does
	// not document which one it uses.
	ExportBySignupDate bool

	// CreateNewFields is the project's "allow unrecognized fields" setting,
	// used when a request does not carry createNewFields: nil means true.
	CreateNewFields *bool
	// UpdateOnlyEnabled models Iterable having enabled the undocumented
	// bulkUpdate "updateOnly" flag for the account. When false the flag is
	// ignored and missing users are created, as a field the account does not
	// know would be; tests then see the users that were wrongly created.
	UpdateOnlyEnabled bool
	// VersionField names a numeric data field used to detect ordering bugs:
	// an accepted update carrying a lower value than the profile holds
	// counts in Stats.OrderRegressions. Empty disables the check.
	VersionField string

	// MaxBodyBytes caps bulkUpdate bodies: 0 means DefaultMaxBodyBytes,
	// negative means unlimited. Larger bodies get 413 BatchTooLarge.
	MaxBodyBytes int
	// DiscardBodies stops Request.Bulk from being kept, for benchmarks and
	// demos where retaining every decoded body would cost too much memory.
	DiscardBodies bool

	// Logger receives debug logs (never the API key); nil discards them.
	Logger *slog.Logger
	// Now is the clock, for the rate limiter and timestamps; nil means
	// time.Now. Injected latency always uses real time.
	Now func() time.Time
	// Seed makes the random choices of injected faults repeatable; 0 seeds
	// randomly.
	Seed uint64
}

// Server is a simulated Iterable project. It is an http.Handler; all methods
// are safe for concurrent use.
type Server struct {
	opts      Options
	createNew bool
	maxBody   int64
	log       *slog.Logger
	now       func() time.Time
	mux       *http.ServeMux
	limiters  map[string]*gcra // immutable after New; nil entry = unlimited
	delDelay  time.Duration

	faults faultState

	mu       sync.Mutex // guards st, stats, requests, deletions and taken
	st       store
	stats    counters
	requests []Request
	// deletions are accepted deletes waiting to take effect, oldest first;
	// pendingDeletions is their number, read without the lock so that a
	// request need not take it when there are none.
	deletions        []deletion
	pendingDeletions atomic.Int32
	// taken is what TakeQuota gave other clients, per endpoint.
	taken map[string]float64
}

// New returns a simulated project configured by opts.
func New(opts Options) *Server {
	s := &Server{
		opts:      opts,
		createNew: opts.CreateNewFields == nil || *opts.CreateNewFields,
		log:       opts.Logger,
		now:       opts.Now,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	switch {
	case opts.MaxBodyBytes == 0:
		s.maxBody = DefaultMaxBodyBytes
	case opts.MaxBodyBytes < 0:
		s.maxBody = math.MaxInt64
	default:
		s.maxBody = int64(opts.MaxBodyBytes)
	}
	seed := opts.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	s.faults.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	tol := opts.RateTolerance
	switch {
	case tol == 0:
		tol = DefaultRateTolerance
	case tol < 0:
		tol = 0
	}
	bulk := rateOrDefault(opts.BulkUpdatePerSecond, DefaultBulkUpdatePerSecond)
	lookup := rateOrDefault(opts.LookupPerSecond, DefaultLookupPerSecond)
	del := rateOrDefault(opts.DeletePerSecond, DefaultDeletePerSecond)
	s.limiters = map[string]*gcra{
		EndpointBulkUpdate:     newGCRA(bulk, tol),
		EndpointGetByEmail:     newGCRA(lookup, tol),
		EndpointGetByEmailPath: newGCRA(lookup, tol),
		EndpointByUserID:       newGCRA(lookup, tol),
		EndpointByUserIDPath:   newGCRA(lookup, tol),
		EndpointGetFields:      newGCRA(rateOrDefault(opts.GetFieldsPerSecond, DefaultGetFieldsPerSecond), tol),
		EndpointUpdateEmail:    newGCRA(opts.UpdateEmailPerSecond, tol),
		EndpointDeleteByEmail:  newGCRA(del, tol),
		EndpointDeleteByUserID: newGCRA(del, tol),
		EndpointExport:         newGCRAPer(rateOrDefault(opts.ExportPerMinute, DefaultExportPerMinute)/60, time.Minute, tol),
	}
	s.delDelay = opts.DeleteDelay
	switch {
	case s.delDelay == 0:
		s.delDelay = DefaultDeleteDelay
	case s.delDelay < 0:
		s.delDelay = 0
	}
	s.st.init()
	s.stats.init()
	s.taken = map[string]float64{}

	mux := http.NewServeMux()
	mux.Handle("POST /api/users/bulkUpdate", s.api(EndpointBulkUpdate, s.handleBulkUpdate))
	mux.Handle("GET /api/users/getByEmail", s.api(EndpointGetByEmail, s.handleGetByEmail))
	mux.Handle("GET /api/users/byUserId", s.api(EndpointByUserID, s.handleByUserID))
	mux.Handle("GET /api/users/byUserId/{userId...}", s.api(EndpointByUserIDPath, s.handleByUserIDPath))
	mux.Handle("GET /api/users/getFields", s.api(EndpointGetFields, s.handleGetFields))
	mux.Handle("GET /api/users/{email...}", s.api(EndpointGetByEmailPath, s.handleGetByEmailPath))
	mux.Handle("POST /api/users/updateEmail", s.api(EndpointUpdateEmail, s.handleUpdateEmail))
	mux.Handle("DELETE /api/users/byUserId/{userId...}", s.api(EndpointDeleteByUserID, s.handleDeleteByUserID))
	mux.Handle("DELETE /api/users/{email...}", s.api(EndpointDeleteByEmail, s.handleDeleteByEmail))
	mux.Handle("GET /api/export/data.json", s.api(EndpointExport, s.handleExport))
	mux.Handle("/", s.api(EndpointUnknown, s.handleNotFound))
	s.registerAdmin(mux)
	s.mux = mux
	return s
}

func rateOrDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v // negative: newGCRA returns nil, i.e. unlimited
}

// ServeHTTP serves the simulated API and the /_sim/ admin endpoints.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// apiHandler handles one authenticated, admitted API request and fills rec.
type apiHandler func(w http.ResponseWriter, r *http.Request, rec *Request)

// api wraps an endpoint handler with what every Iterable API request goes
// through, in order: injected latency, the key check, the rate limit,
// injected failures, then the handler; and records the request.
func (s *Server) api(endpoint string, h apiHandler) http.Handler {
	lim := s.limiters[endpoint]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		rec := &Request{Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Endpoint: endpoint}
		defer func() {
			rec.Duration = s.now().Sub(start)
			s.record(*rec)
		}()

		if d := s.faults.delay(endpoint); d > 0 {
			rec.Fault = "latency"
			if !sleepCtx(r.Context(), d) {
				rec.Status = statusClientClosed
				return
			}
		}
		if s.faults.revoked(endpoint) {
			rec.Fault = "revoked-key"
			s.writeBadKey(w, r, rec)
			return
		}
		if !s.authorized(r) {
			s.writeBadKey(w, r, rec)
			return
		}
		if ok, retryIn := lim.allow(s.now()); !ok {
			rec.RateLimited = true
			s.writeTooMany(w, rec, lim, endpoint, retryIn)
			return
		}
		if status, kind := s.faults.inject(endpoint); status != 0 {
			rec.Fault = kind
			if status == http.StatusTooManyRequests {
				s.writeTooMany(w, rec, lim, endpoint, time.Second)
				return
			}
			s.writeError(w, rec, status, "GenericError", "Simulated failure ("+kind+")", nil)
			return
		}
		if s.pendingDeletions.Load() > 0 {
			s.mu.Lock()
			s.applyDeletions()
			s.mu.Unlock()
		}
		h(w, r, rec)
	})
}

// statusClientClosed records a request whose client went away during
// injected latency (nginx's convention); nothing is written.
const statusClientClosed = 499

// authorized checks the Api-Key header, or Iterable's alternate Api_Key,
// in constant time. With no key configured nothing is authorized.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.APIKey == "" {
		return false
	}
	got := r.Header.Get("Api-Key")
	if got == "" {
		got = r.Header.Get("Api_Key")
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.APIKey)) == 1
}

// apiError is Iterable's IterableApiResponse error body.
type apiError struct {
	Msg    string `json:"msg"`
	Code   string `json:"code"`
	Params any    `json:"params"`
}

// writeBadKey answers like Iterable's recorded 401: the caller's IP and the
// endpoint in params, never the key that was sent.
func (s *Server) writeBadKey(w http.ResponseWriter, r *http.Request, rec *Request) {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	s.writeError(w, rec, http.StatusUnauthorized, "BadApiKey", "Invalid API key",
		map[string]any{"ip": ip, "endpoint": r.URL.Path})
}

// writeTooMany answers 429 RateLimitExceeded for lim (nil for an injected
// 429 on an unlimited endpoint).
func (s *Server) writeTooMany(w http.ResponseWriter, rec *Request, lim *gcra, endpoint string, retryIn time.Duration) {
	if s.opts.RetryAfter {
		secs := max(1, int(math.Ceil(retryIn.Seconds())))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	var params any
	if s.opts.RateLimitParams && lim != nil {
		params = map[string]any{
			"rateLimitLimit":     lim.limitPerWindow(),
			"rateLimitRemaining": 0,
			"rateLimitReset":     s.now().Add(retryIn).UnixMilli(),
		}
	}
	s.writeError(w, rec, http.StatusTooManyRequests, "RateLimitExceeded",
		"Exceeded rate limit for "+endpoint, params)
}

func (s *Server) writeError(w http.ResponseWriter, rec *Request, status int, code, msg string, params any) {
	rec.Code = code
	s.writeJSON(w, rec, status, apiError{Msg: msg, Code: code, Params: params})
}

func (s *Server) writeJSON(w http.ResponseWriter, rec *Request, status int, body any) {
	rec.Status = status
	b, err := json.Marshal(body)
	if err != nil {
		// Bodies are built from JSON-decoded values, so this is a simulator
		// bug; say so rather than answer something half-written.
		s.log.Error("sim: encode response", "err", err)
		rec.Status = http.StatusInternalServerError
		http.Error(w, `{"msg":"simulator encode error","code":"GenericError","params":null}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil && err != io.EOF {
		s.log.Debug("sim: write response", "err", err)
	}
}

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request, rec *Request) {
	s.writeError(w, rec, http.StatusNotFound, "NotFound", "No such endpoint: "+r.Method+" "+r.URL.Path, nil)
}
