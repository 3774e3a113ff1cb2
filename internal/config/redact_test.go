package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	c := mustParse(t, withOverrides(t, `
redis: {url: "redis://app:REDISPW-in-url@h:6379/0", password: REDISPW-field}
kafka: {sasl: {mechanism: PLAIN, username: u, password: SASLPW-field}}
`), baseEnv())
	r := c.Redacted()

	if r.Iterable.APIKey != "***" || r.Redis.Password != "***" || r.Kafka.SASL.Password != "***" {
		t.Errorf("secrets not replaced: %+v", r)
	}
	if r.Redis.URL != "redis://app:***@h:6379/0" {
		t.Errorf("redis.url = %q", r.Redis.URL)
	}
	printed := fmt.Sprintf("%+v", r)
	for _, s := range []string{fakeAPIKey, "REDISPW", "SASLPW"} {
		if strings.Contains(printed, s) {
			t.Errorf("redacted config still shows %q", s)
		}
	}
	if r.Kafka.SASL.Username != "u" || r.Redis.KeyPrefix != "attrsync" {
		t.Error("non-secret values must survive redaction")
	}
	// The original is untouched and shares no slices with the copy.
	if c.Iterable.APIKey != fakeAPIKey || c.Redis.URL != "redis://app:REDISPW-in-url@h:6379/0" {
		t.Error("Redacted modified its receiver")
	}
	r.Iterable.Attributes[0].To = "changed"
	r.Kafka.Brokers[0] = "changed"
	if c.Iterable.Attributes[0].To == "changed" || c.Kafka.Brokers[0] == "changed" {
		t.Error("Redacted shares slices with its receiver")
	}
}

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"":                                "",
		"redis://h:6379/0":                "redis://h:6379/0",
		"redis://user@h:6379":             "redis://user@h:6379",
		"rediss://:p%40ss@h:6380/1":       "rediss://:***@h:6380/1",
		"redis://u:pw@h:port/0":           "***", // unparsable: masked whole
		"redis://u:REDACTED@h/0":          "redis://u:***@h/0",
		"redis://u%3Ax:pw@h:1/0?x=y#frag": "redis://u%3Ax:***@h:1/0?x=y#frag",
	}
	for in, want := range cases {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
	var zero Config
	if r := zero.Redacted(); r.Iterable.APIKey != "" || r.Redis.URL != "" {
		t.Error("empty secrets must stay empty, so 'not set' remains visible")
	}
}

func TestIterableBaseURL(t *testing.T) {
	cases := []struct {
		region, base, want string
	}{
		{"us", "", "https://api.iterable.com"},
		{"eu", "", "https://api.eu.iterable.com"},
		{"eu", "http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
		{"us", "https://proxy.internal/iterable", "https://proxy.internal/iterable"},
	}
	for _, tc := range cases {
		c := Config{Iterable: Iterable{Region: tc.region, BaseURL: tc.base}}
		if got := c.IterableBaseURL(); got != tc.want {
			t.Errorf("region %q base_url %q: got %q, want %q", tc.region, tc.base, got, tc.want)
		}
	}
}
