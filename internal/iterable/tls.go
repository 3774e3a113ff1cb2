package iterable

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// TLSError is a request that never reached Iterable because its TLS peer
// could not be trusted: its certificate is signed by an unknown authority,
// expired or not yet valid, or made out for another host. Retrying cannot
// help and no user is at fault: like a refused key it needs an operator
// (the system CA bundle, a proxy that intercepts TLS, iterable.base_url),
// so the sync must pause rather than retry with backoff or dead-letter.
type TLSError struct {
	// Endpoint is the API path, such as /api/users/bulkUpdate.
	Endpoint string
	// Problem names what failed, in words an operator can act on.
	Problem string
	// Err is the verification error; it names certificates and hosts, not
	// secrets.
	Err error
}

// Error names the endpoint and the problem.
func (e *TLSError) Error() string {
	return fmt.Sprintf("iterable: %s: TLS: %s: %v", e.Endpoint, e.Problem, e.Err)
}

// Unwrap returns the verification error.
func (e *TLSError) Unwrap() error { return e.Err }

// IsTLS reports whether err is a *TLSError: pause as for IsAuth.
func IsTLS(err error) bool {
	_, ok := errors.AsType[*TLSError](err)
	return ok
}

// tlsProblem says what TLS problem err is, "" when it is none.
// crypto/tls wraps verification failures in *tls.CertificateVerificationError;
// errors.AsType sees through it.
func tlsProblem(err error) string {
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return "certificate signed by an unknown authority"
	}
	if e, ok := errors.AsType[x509.HostnameError](err); ok {
		return "certificate not valid for host " + e.Host
	}
	if e, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		if e.Reason == x509.Expired {
			return "certificate expired or not yet valid"
		}
		return "certificate invalid"
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return "certificate not verified"
	}
	return ""
}
