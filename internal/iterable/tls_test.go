package iterable

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/sim"
)

// testCA issues certificates for TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "attrsync test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// serve starts the handler over TLS with a leaf certificate for the given
// names, valid from notBefore to notAfter.
func (ca *testCA) serve(t *testing.T, h http.Handler, dns []string, ips []net.IP, notBefore, notAfter time.Time) *httptest.Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "iterable test"},
		NotBefore: notBefore, NotAfter: notAfter, DNSNames: dns, IPAddresses: ips,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// TestUntrustedTLSPeerPauses: a certificate that does not verify is neither
// a transient failure (retried with backoff forever) nor a permanent one
// (dead-lettered): IsTLS tells the caller to pause as for a refused key,
// and the error names the problem without the key.
func TestUntrustedTLSPeerPauses(t *testing.T) {
	t.Parallel()
	s := sim.New(sim.Options{APIKey: testKey, BulkUpdatePerSecond: -1, LookupPerSecond: -1})
	ca := newTestCA(t)
	now := time.Now()
	loopback := []net.IP{net.ParseIP("127.0.0.1")}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
	req := BulkRequest{CreateNewFields: true, Users: []User{{ID: email("ann@example.com"), Fields: []change.Attr{attr("n", "1")}}}}

	good := ca.serve(t, s, nil, loopback, now.Add(-time.Hour), now.Add(time.Hour))
	if _, err := New(good.URL, testKey, WithHTTPClient(trusting)).BulkUpdate(t.Context(), req); err != nil {
		t.Fatalf("a verified peer: %v", err)
	}
	for _, tc := range []struct {
		name    string
		url     string
		client  *http.Client
		problem string
	}{
		{"unknown authority", good.URL, &http.Client{}, "unknown authority"},
		{"expired", ca.serve(t, s, nil, loopback, now.Add(-48*time.Hour), now.Add(-24*time.Hour)).URL, trusting, "expired"},
		{"hostname mismatch", ca.serve(t, s, []string{"api.iterable.example"}, nil, now.Add(-time.Hour), now.Add(time.Hour)).URL, trusting, "not valid for host 127.0.0.1"},
	} {
		_, err := New(tc.url, testKey, WithHTTPClient(tc.client)).BulkUpdate(t.Context(), req)
		if !IsTLS(err) {
			t.Errorf("%s: IsTLS(%v) = false", tc.name, err)
			continue
		}
		if IsTransient(err) || IsInvalidRequest(err) {
			t.Errorf("%s: %v also counts as transient or invalid", tc.name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, tc.problem) || strings.Contains(msg, testKey) {
			t.Errorf("%s: error %q should name %q and never the key", tc.name, msg, tc.problem)
		}
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("the simulator got %d requests, want only the verified one", n)
	}
}
