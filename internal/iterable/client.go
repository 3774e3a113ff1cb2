package iterable

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API paths the client calls. The two deletes carry the user in their path;
// their constants are templates, and only the template ever appears in an
// error.
const (
	EndpointBulkUpdate     = "/api/users/bulkUpdate"
	EndpointGetByEmail     = "/api/users/getByEmail"
	EndpointByUserID       = "/api/users/byUserId"
	EndpointGetFields      = "/api/users/getFields"
	EndpointUpdateEmail    = "/api/users/updateEmail"
	EndpointDeleteByEmail  = "/api/users/{email}"
	EndpointDeleteByUserID = "/api/users/byUserId/{userId}"
	EndpointExport         = "/api/export/data.json"
)

// Defaults of the client's options.
const (
	DefaultTimeout   = 30 * time.Second
	DefaultUserAgent = "attrsync"
	// DefaultPenalty is how long a 429 that names no wait (no Retry-After,
	// no rateLimitReset) pauses the endpoint's limiter.
	DefaultPenalty = time.Second
	// maxResponseBytes bounds what is read of a response: a bulkUpdate
	// answer listing 1000 failed users is well under 1 MB.
	maxResponseBytes = 16 << 20
)

// Limiter paces calls to one endpoint. It is declared here, where it is
// used, so that the client does not depend on Redis; the limiters of
// internal/ratelimit satisfy it.
type Limiter interface {
	// Wait blocks until one request may be sent, and says how long it took.
	Wait(ctx context.Context) (time.Duration, error)
}

// Adaptive is a Limiter that learns its pace from Iterable's answers (the
// AIMD limiters of internal/ratelimit). The client tells it about every
// answer to a request it granted.
type Adaptive interface {
	Limiter
	// Throttled reports a 429: wait is how long Iterable asked to hold
	// back (DefaultPenalty when it did not say), limit the rateLimitLimit
	// it reported (0 when it did not).
	Throttled(ctx context.Context, wait time.Duration, limit int) error
	// Succeeded reports an answer that was not a 429 and not a server
	// error: the request got through Iterable's rate limit.
	Succeeded(ctx context.Context) error
}

// Client calls Iterable's user API. It is safe for concurrent use.
type Client struct {
	baseURL string
	// apiKey is a closure rather than a string: fmt prints a func as its
	// code address, never what it captured, so even a Client value
	// formatted through reflection (%v of *c, a field of another struct)
	// cannot show the key.
	apiKey    func() string
	http      *http.Client
	timeout   time.Duration
	userAgent string
	bulk      Limiter
	lookup    Limiter
	export    Limiter
	getFields Limiter
	email     Limiter
	deletes   Limiter
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sends requests through hc (a shallow copy of it, which the
// client makes refuse redirects: Go forwards custom headers such as Api-Key
// across hosts). Its Timeout, if any, applies on top of WithTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.http = hc
		}
	}
}

// WithTimeout bounds one request, from sending to the end of the response
// body (default 30s). Running out of it is a transient ErrTimeout.
func WithTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithUserAgent sets the User-Agent header, such as "attrsync/1.2.3".
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// WithBulkUpdateDepartures spaces the moments bulkUpdate requests leave:
// the caller takes a turn before it cuts a request (see BulkUpdate), and
// l, waited on once the body is encoded, keeps requests whose preparation
// took longer or shorter from reaching Iterable closer together than the
// pace (ratelimit.Departures). l is not told of answers.
func WithBulkUpdateDepartures(l Limiter) Option {
	return func(c *Client) { c.bulk = l }
}

// WithLookupLimiter paces the user lookups (getByEmail and byUserId share
// one budget).
func WithLookupLimiter(l Limiter) Option {
	return func(c *Client) { c.lookup = l }
}

// WithExportLimiter paces GET /api/export/data.json (Iterable: 4 requests
// per minute per project).
func WithExportLimiter(l Limiter) Option {
	return func(c *Client) { c.export = l }
}

// WithGetFieldsLimiter paces GET /api/users/getFields (Iterable: 3
// requests per second per project).
func WithGetFieldsLimiter(l Limiter) Option {
	return func(c *Client) { c.getFields = l }
}

// WithUpdateEmailLimiter paces POST /api/users/updateEmail, whose limit
// Iterable does not state.
func WithUpdateEmailLimiter(l Limiter) Option {
	return func(c *Client) { c.email = l }
}

// WithDeleteLimiter paces the user deletes, by email and by userId
// (Iterable: 100 requests per second per project each; a sync uses one).
func WithDeleteLimiter(l Limiter) Option {
	return func(c *Client) { c.deletes = l }
}

// New returns a client for the Iterable API at baseURL (such as
// https://api.iterable.com) authenticating with apiKey.
func New(baseURL, apiKey string, opts ...Option) *Client {
	c := &Client{
		baseURL:   strings.TrimRight(baseURL, "/"),
		apiKey:    func() string { return apiKey },
		http:      http.DefaultClient,
		timeout:   DefaultTimeout,
		userAgent: DefaultUserAgent,
	}
	for _, opt := range opts {
		opt(c)
	}
	hc := *c.http
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = &hc
	return c
}

// String describes the client without its API key.
func (c *Client) String() string {
	return fmt.Sprintf("iterable.Client{baseURL: %q, apiKey: [REDACTED]}", c.baseURL)
}

// GoString is String, so that %#v does not print the key either.
func (c *Client) GoString() string { return c.String() }

// LogValue keeps the API key out of slog output.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("base_url", c.baseURL))
}

// response is what do read of an answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// call is one request to send.
type call struct {
	limiter Limiter
	method  string
	// endpoint names the request in errors and metrics; it never holds an
	// identifier.
	endpoint string
	// path is where the request goes when it differs from endpoint (a
	// delete, whose path holds the user).
	path  string
	query url.Values
	body  []byte
}

// do waits on limiter, sends one request and reads the whole answer within
// the per-request timeout. A transport failure is a *TransportError, the
// timeout an ErrTimeout, and the caller's context ending its own error.
func (c *Client) do(ctx context.Context, limiter Limiter, method, endpoint string, query url.Values, body []byte) (*response, error) {
	return c.exchange(ctx, call{limiter: limiter, method: method, endpoint: endpoint, query: query, body: body})
}

// exchange is do for a call.
func (c *Client) exchange(ctx context.Context, cl call) (*response, error) {
	if err := c.wait(ctx, cl); err != nil {
		return nil, err
	}
	reqCtx, cancel := context.WithTimeoutCause(ctx, c.timeout, ErrTimeout)
	defer cancel()
	resp, err := c.send(ctx, reqCtx, cl)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, c.failure(ctx, reqCtx, cl.endpoint, err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// wait waits on the call's limiter, if it has one.
func (c *Client) wait(ctx context.Context, cl call) error {
	if cl.limiter == nil {
		return nil
	}
	if _, err := cl.limiter.Wait(ctx); err != nil {
		return fmt.Errorf("iterable: %s: %w: %w", cl.endpoint, ErrRateLimiter, err)
	}
	return nil
}

// send sends the call within reqCtx and returns the response with its body
// unread, for the caller to read and close; an answer that got through
// Iterable's rate limit is reported to an Adaptive limiter.
func (c *Client) send(ctx, reqCtx context.Context, cl call) (*http.Response, error) {
	path := cl.path
	if path == "" {
		path = cl.endpoint
	}
	u := c.baseURL + path
	if len(cl.query) > 0 {
		u += "?" + cl.query.Encode()
	}
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(reqCtx, cl.method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("iterable: %s: build request: %w", cl.endpoint, withoutURL(err))
	}
	req.Header.Set("Api-Key", c.apiKey())
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.failure(ctx, reqCtx, cl.endpoint, err)
	}
	if a, ok := cl.limiter.(Adaptive); ok && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500 {
		// Best effort, like Throttled: a limiter whose shared state cannot
		// be reached reports that at its next Wait.
		_ = a.Succeeded(ctx)
	}
	return resp, nil
}

// failure classifies an error of sending or reading: the caller's context,
// the per-request timeout, an untrusted TLS peer, or the network.
func (c *Client) failure(ctx, reqCtx context.Context, endpoint string, err error) error {
	err = withoutURL(err)
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("iterable: %s: %w", endpoint, ctx.Err())
	case errors.Is(context.Cause(reqCtx), ErrTimeout):
		return fmt.Errorf("%w: %s after %s", ErrTimeout, endpoint, c.timeout)
	}
	if problem := tlsProblem(err); problem != "" {
		return &TLSError{Endpoint: endpoint, Problem: problem, Err: err}
	}
	return &TransportError{Endpoint: endpoint, Err: err}
}

// withoutURL drops the *url.Error around err: it names the URL, whose query
// may hold an email, which must not reach logs above debug level.
func withoutURL(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// apiError builds the error of a non-200 answer and, on 429, slows the
// endpoint's limiter down.
func (c *Client) apiError(ctx context.Context, limiter Limiter, endpoint string, r *response) *APIError {
	now := time.Now()
	e := &APIError{
		Status:     r.status,
		Endpoint:   endpoint,
		RetryAfter: parseRetryAfter(r.header.Get("Retry-After"), now),
	}
	var body struct {
		Msg    string          `json:"msg"`
		Code   string          `json:"code"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(r.body, &body) == nil {
		e.Code, e.Msg = body.Code, body.Msg
		if len(body.Params) > 0 && string(body.Params) != "null" {
			e.Params = body.Params
		}
	} else {
		e.Msg = strings.TrimSpace(string(r.body))
	}
	if len(e.Msg) > maxErrorMsgLength {
		e.Msg = e.Msg[:maxErrorMsgLength] + "…"
	}
	// Defence in depth: a proxy that echoes the request must not leak the key.
	if key := c.apiKey(); key != "" {
		e.Msg = strings.ReplaceAll(e.Msg, key, "[REDACTED]")
		if bytes.Contains(e.Params, []byte(key)) {
			e.Params = nil
		}
	}
	if r.status == http.StatusTooManyRequests {
		e.RateLimit = parseRateLimit(e.Params, now)
		if e.RetryAfter <= 0 && e.RateLimit != nil && !e.RateLimit.Reset.IsZero() {
			e.RetryAfter = clampDelay(e.RateLimit.Reset.Sub(now))
		}
		d := e.RetryAfter
		if d <= 0 {
			d = DefaultPenalty
		}
		// Best effort: the local part of the pause always applies, and a
		// Redis that stays down surfaces at the limiter's next Wait.
		if l, ok := limiter.(Adaptive); ok {
			limit := 0
			if e.RateLimit != nil {
				limit = e.RateLimit.Limit
			}
			_ = l.Throttled(ctx, d, limit)
		}
	}
	return e
}
