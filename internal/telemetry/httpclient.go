package telemetry

import (
	"net/http"
	"path"
	"strconv"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
)

// HTTPClient returns the client Iterable's requests go through: each request
// is a span (a child of its batch's span) and is counted and timed by
// endpoint and status. No trace context is sent to Iterable, which does not
// take part in attrsync's traces.
func (t *Telemetry) HTTPClient() *http.Client {
	counted := &countingTransport{base: http.DefaultTransport, inst: t.inst}
	return &http.Client{Transport: otelhttp.NewTransport(counted,
		otelhttp.WithTracerProvider(t.tracers),
		otelhttp.WithMeterProvider(t.meters),
		otelhttp.WithPropagators(propagation.NewCompositeTextMapPropagator()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return r.Method + " " + endpointOf(r)
		}),
	)}
}

// countingTransport records attrsync.iterable.requests and
// attrsync.iterable.request.duration for each request it carries.
type countingTransport struct {
	base http.RoundTripper
	inst *instruments
}

// RoundTrip sends r and records it.
func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := c.base.RoundTrip(r)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	attrs := metric.WithAttributes(attribute.String("endpoint", endpointOf(r)), attribute.String("status", status))
	c.inst.requestTime.Record(r.Context(), time.Since(start).Seconds(), attrs)
	c.inst.requests.Add(r.Context(), 1, attrs)
	return resp, err
}

// endpointOf names the Iterable endpoint of a request by the last element
// of its path (bulkUpdate, getByEmail, byUserId). Identifiers travel in the
// query, never in the path, so the name holds none.
func endpointOf(r *http.Request) string {
	return path.Base(r.URL.Path)
}
