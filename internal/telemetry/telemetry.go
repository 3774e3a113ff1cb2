// Package telemetry gives attrsync its metrics, traces and health endpoints:
// OpenTelemetry providers exporting metrics as Prometheus on /metrics and,
// when an OTLP endpoint is configured, metrics and traces over OTLP/HTTP;
// an Observer of the pipeline; an instrumented HTTP client for Iterable;
// and the /healthz and /readyz probes.
//
// No API key and no user identifier ever becomes a metric label or a span
// attribute: labels are fixed vocabularies (endpoints, statuses, classes,
// topics, partitions), and the span exporter strips query strings, where
// Iterable's lookups carry the email, from URLs recorded on spans.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// scope names the instrumentation of attrsync's own meters and tracers.
const scope = "github.com/attrsync/attrsync"

// otlpInterval is how often metrics are pushed over OTLP.
const otlpInterval = 30 * time.Second

// Config says how telemetry is exported.
type Config struct {
	// Sync is the sync's name, a resource attribute of every metric and span.
	Sync string
	// Version is attrsync's version.
	Version string
	// OTLPEndpoint is the OTLP/HTTP collector's base URL (such as
	// http://collector:4318; a bare host:port means plain HTTP). Empty: no
	// OTLP export, metrics are served on /metrics only.
	OTLPEndpoint string
	// Log receives telemetry's own problems; nil means slog.Default().
	Log *slog.Logger
}

// Telemetry owns the metric and trace providers of one process.
type Telemetry struct {
	log      *slog.Logger
	registry *prometheus.Registry
	meters   *sdkmetric.MeterProvider
	tracers  *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
	inst     *instruments
	lag      *lagGauge
}

// New sets up the providers. Call Shutdown to flush and stop them.
func New(ctx context.Context, cfg Config) (*Telemetry, error) {
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	if err := errors.Join(
		reg.Register(collectors.NewGoCollector()),
		reg.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})),
	); err != nil {
		return nil, fmt.Errorf("telemetry: register runtime collectors: %w", err)
	}
	promExp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	res := resource.NewSchemaless(
		attribute.String("service.name", "attrsync"),
		attribute.String("service.version", cfg.Version),
		attribute.String("attrsync.sync", cfg.Sync),
	)
	metricOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promExp)}
	traceOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	if cfg.OTLPEndpoint != "" {
		mexp, texp, err := otlpExporters(ctx, cfg.OTLPEndpoint)
		if err != nil {
			return nil, err
		}
		metricOpts = append(metricOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(otlpInterval))))
		traceOpts = append(traceOpts, sdktrace.WithBatcher(redactingExporter{texp}))
	}
	t := &Telemetry{
		log:      log,
		registry: reg,
		meters:   sdkmetric.NewMeterProvider(metricOpts...),
		tracers:  sdktrace.NewTracerProvider(traceOpts...),
		prop:     propagation.TraceContext{},
		lag:      newLagGauge(),
	}
	t.tracer = t.tracers.Tracer(scope)
	if t.inst, err = newInstruments(t.meters.Meter(scope), t.lag); err != nil {
		return nil, errors.Join(err, t.Shutdown(ctx))
	}
	return t, nil
}

// otlpExporters builds the OTLP/HTTP metric and trace exporters for a
// collector at endpoint, the base URL to which /v1/metrics and /v1/traces
// are appended.
func otlpExporters(ctx context.Context, endpoint string) (sdkmetric.Exporter, sdktrace.SpanExporter, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "http://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, nil, fmt.Errorf("telemetry.otlp_endpoint %q: want http(s)://host:port[/path]", endpoint)
	}
	base := strings.TrimRight(u.Path, "/")
	mopts := []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(u.Host), otlpmetrichttp.WithURLPath(base + "/v1/metrics")}
	topts := []otlptracehttp.Option{otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(base + "/v1/traces")}
	if u.Scheme == "http" {
		mopts = append(mopts, otlpmetrichttp.WithInsecure())
		topts = append(topts, otlptracehttp.WithInsecure())
	}
	mexp, err := otlpmetrichttp.New(ctx, mopts...)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: otlp metric exporter: %w", err)
	}
	texp, err := otlptracehttp.New(ctx, topts...)
	if err != nil {
		return nil, nil, fmt.Errorf("telemetry: otlp trace exporter: %w", err)
	}
	return mexp, texp, nil
}

// Shutdown flushes what is buffered (a last OTLP export) and stops the
// providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	err := errors.Join(t.tracers.Shutdown(ctx), t.meters.Shutdown(ctx))
	if err != nil {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}
