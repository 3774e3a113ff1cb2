package config

import "net/url"

// The source formats that read their schemas from source.schema_registry.
const (
	FormatAvro     = "avro"
	FormatProtobuf = "protobuf"
)

// SchemaRegistry is the Confluent-compatible schema registry the avro and
// protobuf formats fetch their schemas from. Password and BearerToken are
// secrets.
type SchemaRegistry struct {
	URL         string      `yaml:"url"`
	Username    string      `yaml:"username"`
	Password    string      `yaml:"password"`
	BearerToken string      `yaml:"bearer_token"`
	TLS         RegistryTLS `yaml:"tls"`
}

// RegistryTLS configures transport security towards the schema registry.
type RegistryTLS struct {
	// CAFile holds the certificate authorities to trust instead of the
	// system's, for an https:// registry.
	CAFile string `yaml:"ca_file"`
}

// Paths of the registry's secrets (see secretPaths).
const (
	pathRegistryPassword = "source.schema_registry.password"
	pathRegistryToken    = "source.schema_registry.bearer_token"
)

// schemaRegistry checks source.schema_registry against source.format. The
// URL is never quoted: a mistaken one may hold a password.
func (v semantics) schemaRegistry(s *Source) {
	const base = "source.schema_registry"
	r := s.SchemaRegistry
	if s.Format != FormatAvro && s.Format != FormatProtobuf {
		if r != (SchemaRegistry{}) {
			// Settings that would silently not be used.
			v.add(base, "only used with source.format avro or protobuf")
		}
		return
	}
	var u *url.URL
	if r.URL == "" {
		v.add(base+".url", "required with source.format %s", s.Format)
	} else if parsed, err := url.Parse(r.URL); err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		v.add(base+".url", "must be an absolute http:// or https:// URL")
	} else if parsed.User != nil {
		v.add(base+".url", "must not carry credentials; use username and password")
	} else {
		u = parsed
	}
	switch {
	case r.Username != "" && r.Password == "":
		v.add(pathRegistryPassword, "required with username")
	case r.Password != "" && r.Username == "":
		v.add(base+".username", "required with password")
	}
	if r.BearerToken != "" && (r.Username != "" || r.Password != "") {
		v.add(pathRegistryToken, "not allowed together with username and password: choose one")
	}
	if r.TLS.CAFile != "" {
		if err := readableFile(r.TLS.CAFile); err != nil {
			v.add(base+".tls.ca_file", "%s", err)
		} else if u != nil && u.Scheme != "https" {
			v.add(base+".tls.ca_file", "only used with an https:// url")
		}
	}
}
