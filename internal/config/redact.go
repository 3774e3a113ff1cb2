package config

import (
	"net/url"
	"slices"
	"strings"
)

// redactedMark replaces a secret wherever one would be shown.
const redactedMark = "***"

// Paths of the values that must never appear in an error, a log line, a
// metric or a DLQ header. redis.url counts because it may carry a password.
const (
	pathAPIKey        = "iterable.api_key"
	pathRedisPassword = "redis.password"
	pathRedisURL      = "redis.url"
	pathSASLPassword  = "kafka.sasl.password"
)

func secretPaths() []string {
	return []string{pathAPIKey, pathRedisPassword, pathRedisURL, pathSASLPassword,
		pathRegistryPassword, pathRegistryToken}
}

func isSecretPath(path string) bool {
	return slices.Contains(secretPaths(), path)
}

// Redacted returns a copy of c that is safe to print or log: the Iterable API
// key, the Redis, SASL and schema registry passwords, the registry's bearer
// token and any password inside redis.url (or the registry's url) are
// replaced by "***" (empty values stay empty, so "not set" remains visible).
// The copy shares no slices with c.
func (c *Config) Redacted() Config {
	r := *c
	r.Kafka.Brokers = slices.Clone(c.Kafka.Brokers)
	r.Kafka.Topics = slices.Clone(c.Kafka.Topics)
	r.Iterable.Attributes = slices.Clone(c.Iterable.Attributes)
	r.Iterable.APIKey = redactValue(c.Iterable.APIKey)
	r.Redis.Password = redactValue(c.Redis.Password)
	r.Kafka.SASL.Password = redactValue(c.Kafka.SASL.Password)
	r.Redis.URL = redactURL(c.Redis.URL)
	r.Source.SchemaRegistry.Password = redactValue(c.Source.SchemaRegistry.Password)
	r.Source.SchemaRegistry.BearerToken = redactValue(c.Source.SchemaRegistry.BearerToken)
	r.Source.SchemaRegistry.URL = redactURL(c.Source.SchemaRegistry.URL)
	return r
}

func redactValue(s string) string {
	if s == "" {
		return ""
	}
	return redactedMark
}

// redactURL masks the password of a URL's userinfo. A URL that does not parse
// is masked whole: where its password would be cannot be told.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactedMark
	}
	if u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); !has {
		return raw
	}
	// url.URL.String would percent-encode "***"; splice it in afterwards.
	const placeholder = "REDACTED"
	u.User = url.UserPassword(u.User.Username(), placeholder)
	return strings.Replace(u.String(), ":"+placeholder+"@", ":"+redactedMark+"@", 1)
}

// secretValues lists the secrets present in a raw config instance (the plain
// values the schema sees), for scrubbing from problem messages. It works on
// the instance rather than the decoded Config because it must also cover a
// config that failed to decode.
func secretValues(inst any) []string {
	var out []string
	for _, p := range secretPaths() {
		s, ok := lookupPath(inst, p).(string)
		if !ok || s == "" {
			continue
		}
		out = append(out, s)
		if p == pathRedisURL {
			if u, err := url.Parse(s); err == nil && u.User != nil {
				if pw, has := u.User.Password(); has && pw != "" {
					out = append(out, pw, url.QueryEscape(pw))
				}
			}
		}
	}
	return out
}

// lookupPath follows a dotted path of mapping keys through inst.
func lookupPath(inst any, path string) any {
	cur := inst
	for key := range strings.SplitSeq(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[key]
	}
	return cur
}
