package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestSchemaRegistryLoads(t *testing.T) {
	c := mustParse(t, withOverrides(t, `
source:
  format: avro
  schema_registry: {url: "https://registry:8081", username: app, password: "${SR_PASSWORD}"}
`), map[string]string{"ITERABLE_API_KEY": fakeAPIKey, "SR_PASSWORD": "SRPW-secret"})
	r := c.Source.SchemaRegistry
	if c.Source.Format != FormatAvro || r.URL != "https://registry:8081" || r.Username != "app" || r.Password != "SRPW-secret" {
		t.Fatalf("loaded %+v", c.Source)
	}
	red := c.Redacted()
	if red.Source.SchemaRegistry.Password != "***" || strings.Contains(fmt.Sprintf("%+v", red), "SRPW") {
		t.Errorf("registry password not redacted: %+v", red.Source)
	}
	if c.Source.SchemaRegistry.Password != "SRPW-secret" {
		t.Error("Redacted modified its receiver")
	}
}

func TestSchemaRegistryProblems(t *testing.T) {
	cases := []struct {
		source string
		want   []string
	}{
		{`{format: protobuf}`, []string{"source.schema_registry.url: required with source.format protobuf"}},
		{`{format: avro, schema_registry: {url: "registry:8081"}}`,
			[]string{"source.schema_registry.url: must be an absolute http:// or https:// URL"}},
		{`{format: avro, schema_registry: {url: "https://app:PW-in-url@registry"}}`,
			[]string{"source.schema_registry.url: must not carry credentials; use username and password"}},
		{`{format: avro, schema_registry: {url: "https://r", username: app}}`,
			[]string{"source.schema_registry.password: required with username"}},
		{`{format: avro, schema_registry: {url: "https://r", password: PW-alone}}`,
			[]string{"source.schema_registry.username: required with password"}},
		{`{format: avro, schema_registry: {url: "https://r", username: app, password: PW-basic, bearer_token: TOKEN-both}}`,
			[]string{"source.schema_registry.bearer_token: not allowed together with username and password: choose one"}},
		{`{format: avro, schema_registry: {url: "https://r", tls: {ca_file: /nonexistent/ca.pem}}}`,
			[]string{"source.schema_registry.tls.ca_file: file /nonexistent/ca.pem does not exist"}},
		{`{format: avro, schema_registry: {url: "http://r", tls: {ca_file: testdata/full.yaml}}}`,
			[]string{"source.schema_registry.tls.ca_file: only used with an https:// url"}},
		{`{format: debezium, schema_registry: {url: "https://r"}}`,
			[]string{"source.schema_registry: only used with source.format avro or protobuf"}},
	}
	for _, tc := range cases {
		got := problemsOf(t, withOverrides(t, "source: "+tc.source), baseEnv())
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("source %s:\n got  %q\n want %q", tc.source, got, tc.want)
		}
		for _, p := range got {
			for _, secret := range []string{"PW-in-url", "PW-alone", "PW-basic", "TOKEN-both"} {
				if strings.Contains(p, secret) {
					t.Errorf("problem %q shows a secret", p)
				}
			}
		}
	}
	c := mustParse(t, withOverrides(t, `source: {format: protobuf, schema_registry: {url: "https://r", bearer_token: TOKEN}}`), baseEnv())
	if c.Redacted().Source.SchemaRegistry.BearerToken != "***" {
		t.Error("bearer token not redacted")
	}
}
