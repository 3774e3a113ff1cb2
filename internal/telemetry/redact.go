package telemetry

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// redactor strips the query (and any user info) from URLs recorded on
// spans when they start. Iterable's lookups carry the email or userId in
// the query, and otelhttp records the full URL; redacting here guards
// every exporter, whatever instrumentation records the URL.
type redactor struct{}

// OnStart rewrites URL attributes without their query.
func (redactor) OnStart(_ context.Context, s sdktrace.ReadWriteSpan) {
	for _, kv := range s.Attributes() {
		switch kv.Key {
		case "url.full", "http.url": // current and older semantic conventions
			s.SetAttributes(attribute.String(string(kv.Key), withoutQuery(kv.Value.AsString())))
		}
	}
}

// withoutQuery drops a URL's query, fragment and user info.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[unparsable URL]"
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}

// OnEnd does nothing: attributes are redacted at start.
func (redactor) OnEnd(sdktrace.ReadOnlySpan) {}

// Shutdown does nothing.
func (redactor) Shutdown(context.Context) error { return nil }

// ForceFlush does nothing.
func (redactor) ForceFlush(context.Context) error { return nil }
