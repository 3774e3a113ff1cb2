package cdc

import (
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// countSchemaFetches counts the registry's GET /schemas/ids requests, and
// while *down is true answers them 503 as an overloaded registry would.
func countSchemaFetches(reg *srfake.Registry, down *atomic.Bool) *atomic.Int64 {
	var n atomic.Int64
	reg.Intercept(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasPrefix(r.URL.Path, "/schemas/ids/") {
			return false
		}
		n.Add(1)
		if down != nil && down.Load() {
			http.Error(w, `{"error_code":50003,"message":"backend down"}`, http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	return &n
}

func newTestRegistry(t testing.TB, cfg RegistryConfig) *Registry {
	t.Helper()
	r, err := NewRegistry(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.notFoundWaits = []time.Duration{time.Millisecond, time.Millisecond}
	return r
}

// writerFor is the cdctest writer of a binary format on reg.
func writerFor(format string, reg *srfake.Registry) cdctest.Writer {
	if format == FormatAvro {
		return cdctest.NewAvro(reg)
	}
	return cdctest.NewProtobuf(reg)
}

func TestSchemaFetchedOncePerID(t *testing.T) {
	for _, format := range []string{FormatAvro, FormatProtobuf} {
		t.Run(format, func(t *testing.T) {
			reg := srfake.New()
			defer reg.Close()
			w := writerFor(format, reg)
			fetches := countSchemaFetches(reg, nil)
			d := mustNew(t, w.Format(), WithRegistry(newTestRegistry(t, RegistryConfig{URL: reg.URL()})))
			v1 := cdctest.Users()
			v2 := v1.WithColumn(cdctest.Column{Name: "nickname", Type: cdctest.String, Optional: true})
			var msgs [][]byte
			for i, ev := range cdctest.UserEvents(10, 200, 3) {
				table := v1
				if i%2 == 1 {
					table = v2 // two schema ids, interleaved
				}
				_, value, err := w.Event(table, ev)
				if err != nil {
					t.Fatal(err)
				}
				msgs = append(msgs, value)
			}
			// Four partitions decoding at once, all starting cold.
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for p := range 4 {
				wg.Go(func() {
					for i := p; i < len(msgs); i += 4 {
						if _, err := d.Decode(nil, msgs[i]); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if n := fetches.Load(); n != 2 {
				t.Errorf("%d schema fetches for 2 schema ids and %d messages, want 2", n, len(msgs))
			}
		})
	}
}

func TestRegistryUnavailableIsTransient(t *testing.T) {
	for _, format := range []string{FormatAvro, FormatProtobuf} {
		t.Run(format, func(t *testing.T) {
			reg := srfake.New()
			defer reg.Close()
			w := writerFor(format, reg)
			var down atomic.Bool
			down.Store(true)
			fetches := countSchemaFetches(reg, &down)
			d := mustNew(t, format, WithRegistry(newTestRegistry(t, RegistryConfig{URL: reg.URL()})))
			_, value, err := w.Event(cdctest.Users(), cdctest.UserEvents(1, 1, 1)[0])
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				_, err = d.Decode(nil, value)
				var f *change.Failure
				if !errors.Is(err, ErrUnavailable) || errors.As(err, &f) {
					t.Fatalf("registry answering 503: got %v, want ErrUnavailable and no decode failure", err)
				}
			}
			if fetches.Load() != 2 {
				t.Errorf("%d fetches: a transient failure must not be remembered", fetches.Load())
			}
			down.Store(false)
			row, err := d.Decode(nil, value)
			if err != nil || row.Op != change.OpUpsert {
				t.Fatalf("registry back: %+v, %v", row, err)
			}
		})
	}
}

func TestRegistryUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	reg := srfake.New()
	defer reg.Close()
	_, value, err := cdctest.NewAvro(reg).Event(cdctest.Users(), cdctest.UserEvents(1, 1, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	d := mustNew(t, FormatAvro, WithRegistry(newTestRegistry(t, RegistryConfig{URL: "http://" + addr, Timeout: time.Second})))
	if _, err := d.Decode(nil, value); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("connection refused: got %v, want ErrUnavailable", err)
	}
}

func TestUnknownSchemaIDIsADecodeFailure(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	fetches := countSchemaFetches(reg, nil)
	r := newTestRegistry(t, RegistryConfig{URL: reg.URL()})
	for _, format := range []string{FormatAvro, FormatProtobuf} {
		d := mustNew(t, format, WithRegistry(r))
		value := []byte{0, 0, 0, 0x30, 0x39, 0, 2, 'x'} // schema id 12345
		before := fetches.Load()
		for range 3 {
			_, err := d.Decode(nil, value)
			var f *change.Failure
			if !errors.As(err, &f) || f.Class != change.ClassDecode || errors.Is(err, ErrUnavailable) {
				t.Fatalf("%s: unknown id: got %v, want a decode failure", format, err)
			}
			if !strings.Contains(err.Error(), "12345") {
				t.Errorf("%s: %q does not name the schema id", format, err)
			}
		}
		// Tried, retried while it might be being registered, then
		// remembered as unknown: later messages, and the second decoder
		// sharing the registry, ask nothing.
		want := int64(len(r.notFoundWaits) + 1)
		if format == FormatProtobuf {
			want = 0
		}
		if got := fetches.Load() - before; got != want {
			t.Errorf("%s: %d fetches for an unknown id, want %d", format, got, want)
		}
	}
}

func TestRegistryAuth(t *testing.T) {
	const secret = "s3cret-Token"
	cases := []struct {
		name   string
		expect string
		cfg    RegistryConfig
		ok     bool
	}{
		{"bearer", "Bearer " + secret, RegistryConfig{BearerToken: secret}, true},
		{"basic", "Basic " + base64.StdEncoding.EncodeToString([]byte("app:"+secret)),
			RegistryConfig{Username: "app", Password: secret}, true},
		{"wrong bearer", "Bearer other", RegistryConfig{BearerToken: secret}, false},
		{"wrong password", "Basic " + base64.StdEncoding.EncodeToString([]byte("app:other")),
			RegistryConfig{Username: "app", Password: secret}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			reg := srfake.New(srfake.WithAuth(tc.expect))
			defer reg.Close()
			_, value, err := cdctest.NewAvro(reg).Event(cdctest.Users(), cdctest.UserEvents(1, 1, 1)[0])
			if err != nil {
				t.Fatal(err)
			}
			cfg := tc.cfg
			cfg.URL = reg.URL()
			d := mustNew(t, FormatAvro, WithRegistry(newTestRegistry(t, cfg)))
			_, err = d.Decode(nil, value)
			if tc.ok && err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				// Refused credentials are the configuration's fault, not
				// the message's: wait for a fix, never dead-letter.
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("got %v, want ErrUnavailable", err)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error shows the secret: %v", err)
				}
			}
		})
	}
}

func TestNewRegistryRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]RegistryConfig{
		"no url":              {},
		"relative":            {URL: "registry:8081"},
		"credentials in url":  {URL: "https://u:p@registry:8081"},
		"basic and bearer":    {URL: "https://registry", Username: "u", Password: "p", BearerToken: "t"},
		"missing ca file":     {URL: "https://registry", CAFile: "/nonexistent/ca.pem"},
		"ca file without pem": {URL: "https://registry", CAFile: "registry_test.go"},
	} {
		if _, err := NewRegistry(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "p@") {
			t.Errorf("%s: error shows credentials: %v", name, err)
		}
	}
	if _, err := New(FormatAvro); err == nil {
		t.Error("avro without a registry: accepted")
	}
}

// TestRegistryTLS reaches an https registry whose certificate only the
// configured CA file vouches for.
func TestRegistryTLS(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	srv := httptest.NewTLSServer(reg.Handler())
	defer srv.Close()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	_, value, err := cdctest.NewAvro(reg).Event(cdctest.Users(), cdctest.UserEvents(1, 1, 1)[0])
	if err != nil {
		t.Fatal(err)
	}
	trusting := mustNew(t, FormatAvro, WithRegistry(newTestRegistry(t, RegistryConfig{URL: srv.URL, CAFile: caFile})))
	if _, err := trusting.Decode(nil, value); err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	system := mustNew(t, FormatAvro, WithRegistry(newTestRegistry(t, RegistryConfig{URL: srv.URL})))
	if _, err := system.Decode(nil, value); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("without the CA file: got %v, want ErrUnavailable (untrusted certificate)", err)
	}
}
