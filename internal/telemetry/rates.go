package telemetry

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ObserveRates exports, per endpoint, the pace its rate limiter currently
// allows (requests per second): below share × Iterable's limit after 429s
// told it another client uses part of the project's quota.
func (t *Telemetry) ObserveRates(rates map[string]func() float64) error {
	_, err := t.meters.Meter(scope).Float64ObservableGauge("attrsync.ratelimit.rate",
		metric.WithUnit("{request}/s"),
		metric.WithDescription("Requests per second the rate limiter currently allows, by endpoint: share × Iterable's limit, lowered after 429s and climbing back (AIMD)."),
		metric.WithFloat64Callback(func(_ context.Context, o metric.Float64Observer) error {
			for endpoint, rate := range rates {
				o.Observe(rate(), metric.WithAttributes(attribute.String("endpoint", endpoint)))
			}
			return nil
		}))
	if err != nil {
		return fmt.Errorf("telemetry: observe rate limits: %w", err)
	}
	return nil
}
