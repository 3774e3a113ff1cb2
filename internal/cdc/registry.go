package cdc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sr"
)

// ErrUnavailable marks a decode that could not be done because the schema
// registry could not be asked: a network error, a timeout, a 5xx, a 429,
// refused credentials. The message itself may be fine, so it is not a
// decode failure: the caller retries it later (with backoff, while its
// partition waits) instead of dead-lettering it. Test with errors.Is.
var ErrUnavailable = errors.New("schema registry unavailable")

// RegistryConfig says how to reach a Confluent-compatible schema registry
// (source.schema_registry). Password and BearerToken are secrets: they are
// sent to the registry and never appear in an error.
type RegistryConfig struct {
	// URL is the registry's base URL, http:// or https://, without
	// credentials.
	URL string
	// Username and Password, when set, are sent as HTTP basic auth.
	Username, Password string
	// BearerToken, when set, is sent as "Authorization: Bearer".
	BearerToken string
	// CAFile is a PEM file of the certificate authorities to trust for an
	// https URL instead of the system's.
	CAFile string
	// Timeout bounds one request; 0 means 10 seconds.
	Timeout time.Duration
}

// Registry fetches schemas from a schema registry by id and keeps them: each
// id (and each referenced subject version) is fetched once, however many
// messages and partitions ask for it at the same time. Schemas under an id
// never change, so nothing that was found is ever fetched again. It is safe
// for concurrent use.
type Registry struct {
	client *sr.Client

	// notFoundWaits are the pauses between tries of an id the registry
	// does not know, in case it is being registered as we ask; then the id
	// is unknown for notFoundTTL before it is asked for again.
	notFoundWaits []time.Duration
	notFoundTTL   time.Duration

	mu      sync.Mutex
	fetches map[string]*fetch
}

// fetch is one schema being fetched, or fetched.
type fetch struct {
	done   chan struct{}
	schema sr.Schema
	err    error
	at     time.Time // when err was decided
}

// Schema ids the registry does not know are refused for this long before
// the registry is asked again, so that a run of messages with a bad id does
// not send a request (and wait) per message.
const defaultNotFoundTTL = time.Minute

// maxFailedFetches bounds the remembered failures; beyond it the expired
// ones are dropped.
const maxFailedFetches = 1024

// NewRegistry returns a client of the registry at cfg.URL. It does not
// contact the registry.
func NewRegistry(cfg RegistryConfig) (*Registry, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("cdc: schema registry url must be an absolute http:// or https:// URL")
	}
	if u.User != nil {
		return nil, errors.New("cdc: schema registry url must not carry credentials; use username and password")
	}
	if cfg.BearerToken != "" && (cfg.Username != "" || cfg.Password != "") {
		return nil, errors.New("cdc: schema registry: basic auth and a bearer token are exclusive")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cdc: schema registry ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("cdc: schema registry ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		transport.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	}
	opts := []sr.ClientOpt{
		sr.URLs(cfg.URL),
		sr.HTTPClient(&http.Client{Timeout: timeout, Transport: transport}),
		sr.UserAgent("attrsync"),
	}
	if cfg.Username != "" || cfg.Password != "" {
		opts = append(opts, sr.BasicAuth(cfg.Username, cfg.Password))
	}
	if cfg.BearerToken != "" {
		opts = append(opts, sr.BearerToken(cfg.BearerToken))
	}
	cl, err := sr.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cdc: schema registry: %w", err)
	}
	return &Registry{
		client:        cl,
		notFoundWaits: []time.Duration{100 * time.Millisecond, 400 * time.Millisecond, time.Second},
		notFoundTTL:   defaultNotFoundTTL,
		fetches:       map[string]*fetch{},
	}, nil
}

// schemaByID returns the schema registered under id. Its errors wrap
// ErrUnavailable, or are decode failures for an id the registry does not
// know.
func (r *Registry) schemaByID(ctx context.Context, id int) (sr.Schema, error) {
	return r.once(ctx, fmt.Sprintf("id %d", id), func(ctx context.Context) (sr.Schema, error) {
		return r.client.SchemaByID(ctx, id)
	})
}

// schemaByVersion returns a schema that another one references.
func (r *Registry) schemaByVersion(ctx context.Context, subject string, version int) (sr.Schema, error) {
	key := fmt.Sprintf("subject %q version %d", subject, version)
	return r.once(ctx, key, func(ctx context.Context) (sr.Schema, error) {
		ss, err := r.client.SchemaByVersion(ctx, subject, version)
		return ss.Schema, err
	})
}

// once runs get for key unless it has run, or is running, already.
func (r *Registry) once(ctx context.Context, key string, get func(context.Context) (sr.Schema, error)) (sr.Schema, error) {
	for {
		r.mu.Lock()
		f, ok := r.fetches[key]
		if ok {
			select {
			case <-f.done:
				if f.err == nil || (isNotFound(f.err) && time.Since(f.at) < r.notFoundTTL) {
					r.mu.Unlock()
					return f.schema, f.err
				}
				ok = false // a transient failure, or an unknown id to ask again
			default:
			}
		}
		if !ok {
			f = &fetch{done: make(chan struct{})}
			r.fetches[key] = f
			r.mu.Unlock()
			f.schema, f.err = r.get(ctx, key, get)
			f.at = time.Now()
			r.mu.Lock()
			if f.err != nil {
				r.forgetFailures()
			}
			close(f.done)
			r.mu.Unlock()
			return f.schema, f.err
		}
		r.mu.Unlock()
		select {
		case <-f.done:
			// Its outcome is read on the next pass, which also starts a
			// new fetch if that one failed for a transient reason.
		case <-ctx.Done():
			return sr.Schema{}, fmt.Errorf("schema registry: %w: %w", ErrUnavailable, ctx.Err())
		}
	}
}

// forgetFailures drops expired failures once too many are kept; r.mu is held.
func (r *Registry) forgetFailures() {
	if len(r.fetches) < maxFailedFetches {
		return
	}
	for k, f := range r.fetches {
		select {
		case <-f.done:
			if f.err != nil && (!isNotFound(f.err) || time.Since(f.at) >= r.notFoundTTL) {
				delete(r.fetches, k)
			}
		default:
		}
	}
}

// get asks the registry, retrying briefly while it does not know the key.
func (r *Registry) get(ctx context.Context, key string, get func(context.Context) (sr.Schema, error)) (sr.Schema, error) {
	for attempt := 0; ; attempt++ {
		s, err := get(ctx)
		if err == nil {
			return s, nil
		}
		if !notFoundResponse(err) {
			return sr.Schema{}, unavailable(key, err)
		}
		if attempt >= len(r.notFoundWaits) {
			return sr.Schema{}, &notFoundError{key: key}
		}
		select {
		case <-time.After(r.notFoundWaits[attempt]):
		case <-ctx.Done():
			return sr.Schema{}, fmt.Errorf("schema registry: %w: %w", ErrUnavailable, ctx.Err())
		}
	}
}

// notFoundError is a schema the registry said it does not have.
type notFoundError struct{ key string }

func (e *notFoundError) Error() string {
	return "schema registry has no schema with " + e.key
}

func isNotFound(err error) bool {
	var nf *notFoundError
	return errors.As(err, &nf)
}

// notFoundResponse reports whether the registry answered that it has no
// such schema, subject or version. A 404 without one of the registry's own
// error codes is a wrong URL or a proxy, not an answer about the schema.
func notFoundResponse(err error) bool {
	var re *sr.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotFound {
		return false
	}
	switch re.ErrorCode {
	case sr.ErrSchemaNotFound.Code, sr.ErrSubjectNotFound.Code, sr.ErrVersionNotFound.Code:
		return true
	}
	return false
}

// unavailable wraps a failure to get an answer about key. Every answer but
// "not found" counts: refused credentials or a misdirected URL are not the
// message's fault, and dead-lettering every message until the
// configuration is fixed would lose them.
func unavailable(key string, err error) error {
	var re *sr.ResponseError
	if errors.As(err, &re) {
		// The body may echo anything; the status and code say enough.
		return fmt.Errorf("schema registry: %w: HTTP %d (error code %d) for %s",
			ErrUnavailable, re.StatusCode, re.ErrorCode, key)
	}
	return fmt.Errorf("schema registry: %w: %s: %w", ErrUnavailable, key, err)
}

// Subjects lists the registry's subjects. It is the check that the
// registry answers this client, credentials included (validate --connect),
// and tells whether the subjects a sync reads exist yet. Its errors carry
// the HTTP status and the registry's error code, never the body, which may
// echo the request.
func (r *Registry) Subjects(ctx context.Context) ([]string, error) {
	subjects, err := r.client.Subjects(ctx)
	if err == nil {
		return subjects, nil
	}
	var re *sr.ResponseError
	if errors.As(err, &re) {
		if re.StatusCode == http.StatusUnauthorized || re.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("credentials refused (HTTP %d)", re.StatusCode)
		}
		return nil, fmt.Errorf("HTTP %d (error code %d)", re.StatusCode, re.ErrorCode)
	}
	// The client's own wrapping repeats the request that net/http's error
	// already names.
	var ue *url.Error
	if errors.As(err, &ue) {
		return nil, ue
	}
	return nil, err
}
