package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/kafka"
)

// iterableManagedFields are user fields Iterable maintains itself; a sync
// that wrote them would fight Iterable (or be rejected), so they cannot be
// attribute targets. email and userId are sent as the identifier instead.
func iterableManagedFields() []string {
	return []string{
		"email", "userId", "signupDate", "signupSource", "profileUpdatedAt",
		"emailListIds", "userListIds", "itblInternal",
		"unsubscribedChannelIds", "unsubscribedMessageTypeIds", "subscribedMessageTypeIds",
	}
}

// checkSemantics makes the checks JSON Schema cannot express. It runs on the
// decoded config even when the schema found problems, so one pass lists them
// all; a path that already has a problem is not reported again.
func checkSemantics(c *Config, ps *problems) {
	v := semantics{ps: ps}
	v.kafka(&c.Kafka)
	v.schemaRegistry(&c.Source)
	v.redis(&c.Redis)
	v.iterable(&c.Iterable)
	v.positive("batch.max_wait", c.Batch.MaxWait)
	v.positive("retry.initial_interval", c.Retry.InitialInterval)
	v.positive("retry.max_interval", c.Retry.MaxInterval)
	if c.Retry.InitialInterval > c.Retry.MaxInterval {
		v.add("retry.initial_interval", "must not exceed retry.max_interval (%s)", c.Retry.MaxInterval)
	}
	if c.Telemetry.Listen != "" {
		if _, err := hostPort(c.Telemetry.Listen, true); err != nil {
			v.add("telemetry.listen", "%s", err)
		}
	}
}

// semantics adds problems, skipping paths the schema already complained about.
type semantics struct {
	ps *problems
}

func (v semantics) add(path, format string, args ...any) {
	if !v.ps.has(path) {
		v.ps.add(path, format, args...)
	}
}

func (v semantics) positive(path string, d time.Duration) {
	if d <= 0 {
		v.add(path, "must be greater than 0")
	}
}

func (v semantics) kafka(k *kafka.Config) {
	for i, b := range k.Brokers {
		if b == "" {
			continue // the schema reports it as empty
		}
		if _, err := hostPort(b, false); err != nil {
			v.add(indexPath("kafka.brokers", i), "%s", err)
		}
	}
	v.positive("kafka.session_timeout", k.SessionTimeout)
	v.positive("kafka.heartbeat_interval", k.HeartbeatInterval)
	if k.HeartbeatInterval >= k.SessionTimeout && k.HeartbeatInterval > 0 {
		v.add("kafka.heartbeat_interval", "must be shorter than kafka.session_timeout (%s)", k.SessionTimeout)
	}

	// TLS files are checked whenever set: a path left in the file while TLS
	// is off is a mistake waiting for the day TLS is switched on.
	for _, f := range []struct{ path, file string }{
		{"kafka.tls.ca_file", k.TLS.CAFile},
		{"kafka.tls.cert_file", k.TLS.CertFile},
		{"kafka.tls.key_file", k.TLS.KeyFile},
	} {
		if f.file == "" {
			continue
		}
		if err := readableFile(f.file); err != nil {
			v.add(f.path, "%s", err)
		}
	}
	switch {
	case k.TLS.CertFile != "" && k.TLS.KeyFile == "":
		v.add("kafka.tls.key_file", "required with kafka.tls.cert_file")
	case k.TLS.KeyFile != "" && k.TLS.CertFile == "":
		v.add("kafka.tls.cert_file", "required with kafka.tls.key_file")
	}

	s := k.SASL
	if s.Mechanism != "" {
		if s.Username == "" {
			v.add("kafka.sasl.username", "required with mechanism %s", s.Mechanism)
		}
		if s.Password == "" {
			v.add("kafka.sasl.password", "required with mechanism %s", s.Mechanism)
		}
	} else if s.Username != "" || s.Password != "" {
		// Credentials without a mechanism would silently not be used.
		v.add("kafka.sasl.mechanism", "required when kafka.sasl.username or password is set (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)")
	}
}

// readableFile says why path cannot serve as a TLS file, without wrapping
// the OS error twice over (its text repeats the path).
func readableFile(path string) error {
	fi, err := os.Stat(path)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("file %s does not exist", path)
	case err != nil:
		return fmt.Errorf("cannot read: %w", err)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory, not a file", path)
	}
	return nil
}

// hostPort checks a "host:port" address. An empty host is allowed only for
// listen addresses (":9464" listens on every interface).
func hostPort(addr string, listen bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("must be host:port, got %q", addr)
	}
	if host == "" && !listen {
		return "", fmt.Errorf("must be host:port with a host, got %q", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return "", fmt.Errorf("invalid port in %q", addr)
	}
	return host, nil
}

// redis validates the URL without ever quoting it: it may hold a password.
func (v semantics) redis(r *Redis) {
	if r.URL == "" {
		return // required / empty: reported by the schema
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		v.add(pathRedisURL, "not a valid URL")
		return
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		v.add(pathRedisURL, "scheme must be redis:// or rediss:// (TLS)")
		return
	}
	if u.Host == "" {
		v.add(pathRedisURL, "missing host")
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			v.add(pathRedisURL, "the path must be a database number such as /0")
		}
	}
}

func (v semantics) iterable(it *Iterable) {
	if it.BaseURL != "" {
		u, err := url.Parse(it.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("iterable.base_url", "must be an absolute http:// or https:// URL")
		} else if u.User != nil {
			v.add("iterable.base_url", "must not carry credentials; the API key goes in iterable.api_key")
		}
	}
	if it.UpdateOnlyFlag && it.Mode != ModeUpdate {
		v.add("iterable.update_only_flag", "only allowed with iterable.mode update")
	}
	if !validFieldPath(it.Identifier.Source) && it.Identifier.Source != "" {
		v.add("iterable.identifier.source", "invalid field path %q: empty segment", it.Identifier.Source)
	}

	managed := iterableManagedFields()
	targets := map[string]int{}
	for i, a := range it.Attributes {
		base := indexPath("iterable.attributes", i)
		if a.From != "" && !validFieldPath(a.From) {
			v.add(base+".from", "invalid field path %q: empty segment", a.From)
		}
		if a.Unit != "" && a.Type != "date" {
			v.add(base+".unit", "only allowed with type date")
		}
		if a.To == "" {
			continue
		}
		for _, m := range managed {
			if a.To == m {
				v.add(base+".to", "%q is managed by Iterable and cannot be a target", a.To)
			}
		}
		if first, dup := targets[a.To]; dup {
			v.add(base+".to", "%q is already the target of iterable.attributes[%d]", a.To, first)
		} else {
			targets[a.To] = i
		}
	}
}

// validFieldPath rejects "a..b", ".a" and "a.": every dot must separate two
// field names.
func validFieldPath(p string) bool {
	for seg := range strings.SplitSeq(p, ".") {
		if seg == "" {
			return false
		}
	}
	return p != ""
}
