package telemetry

import (
	"context"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// redactingExporter strips the query (and any user info) from URLs recorded
// on spans before they leave the process. Iterable's lookups carry the
// email or userId in the query, and otelhttp records the full URL (after
// the span started, so a span processor's OnStart would not see it).
// Redacting at export guards every span, whatever instrumentation made it.
type redactingExporter struct {
	sdktrace.SpanExporter
}

// ExportSpans exports spans with their URL attributes redacted.
func (e redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, s := range spans {
		out[i] = redactedSpan{s}
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

// redactedSpan is a span whose URL attributes have no query.
type redactedSpan struct {
	sdktrace.ReadOnlySpan
}

// Attributes returns the span's attributes, URLs without their query.
func (s redactedSpan) Attributes() []attribute.KeyValue {
	attrs := s.ReadOnlySpan.Attributes()
	out := make([]attribute.KeyValue, len(attrs))
	for i, kv := range attrs {
		switch kv.Key {
		case "url.full", "http.url": // current and older semantic conventions
			kv = attribute.String(string(kv.Key), withoutQuery(kv.Value.AsString()))
		case "url.query":
			kv = attribute.String(string(kv.Key), "[redacted]")
		}
		out[i] = kv
	}
	return out
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
