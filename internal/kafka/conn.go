package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// Conn holds how to reach the brokers: their addresses, TLS and SASL.
type Conn struct {
	Brokers []string
	TLS     *tls.Config
	SASL    sasl.Mechanism

	saslUser string // for errors that name who was refused
}

// NewConn builds the connection settings of cfg. A password never appears in
// its errors.
func NewConn(cfg Config) (*Conn, error) {
	c := &Conn{Brokers: cfg.Brokers, saslUser: cfg.SASL.Username}
	if cfg.TLS.Enabled {
		t, err := tlsConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		c.TLS = t
	}
	switch cfg.SASL.Mechanism {
	case "":
	case SASLPlain:
		c.SASL = plain.Mechanism{Username: cfg.SASL.Username, Password: cfg.SASL.Password}
	case SASLScramSHA256, SASLScramSHA512:
		algo := scram.SHA256
		if cfg.SASL.Mechanism == SASLScramSHA512 {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, cfg.SASL.Username, cfg.SASL.Password)
		if err != nil {
			return nil, errors.New("kafka: sasl: cannot set up SCRAM for this username and password")
		}
		c.SASL = m
	default:
		return nil, fmt.Errorf("kafka: sasl: unknown mechanism %q", cfg.SASL.Mechanism)
	}
	return c, nil
}

func tlsConfig(cfg TLSConfig) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // the user asked for it
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka: tls ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		t.RootCAs = pool
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("kafka: tls client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// dialer is what consumer groups and readers connect with.
func (c *Conn) dialer() *kafkago.Dialer {
	return &kafkago.Dialer{Timeout: 10 * time.Second, DualStack: true, TLS: c.TLS, SASLMechanism: c.SASL}
}

// transport is what writers and admin clients connect with.
func (c *Conn) transport() *kafkago.Transport {
	return &kafkago.Transport{TLS: c.TLS, SASL: c.SASL, DialTimeout: 10 * time.Second}
}
