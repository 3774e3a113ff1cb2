package telemetry

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/attrsync/attrsync/internal/pipeline"
)

// counter is one asynchronous counter read from pipeline.Stats.
type counter struct {
	name, unit, desc string
	value            *atomic.Int64
}

// ObserveStats exports the pipeline's counters as OTel asynchronous
// counters, read at each collection: the pipeline already counts every
// message into exactly one outcome, so reading its counts keeps metrics and
// Stats from ever disagreeing.
func (t *Telemetry) ObserveStats(st *pipeline.Stats) error {
	m := t.meters.Meter(scope)
	plain := []counter{
		{"attrsync.messages.consumed", "{message}", "Messages read from Kafka.", &st.Consumed},
		{"attrsync.messages.accepted", "{message}", "Messages whose user Iterable accepted.", &st.Accepted},
		{"attrsync.users.changed", "{user}", "Users sent with at least one changed attribute and accepted.", &st.UsersChanged},
		{"attrsync.users.unchanged", "{user}", "Users whose changes changed no mapped attribute: nothing sent.", &st.UsersUnchanged},
		{"attrsync.users.absent", "{user}", "Users update mode did not touch because Iterable does not have them.", &st.UsersAbsent},
		{"attrsync.users.rejected", "{user}", "Users Iterable refused; their messages were dead-lettered.", &st.UsersRejected},
		{"attrsync.attributes.sent", "{attribute}", "Attributes sent to Iterable and accepted.", &st.AttrsSent},
		{"attrsync.iterable.retries", "{retry}", "Iterable requests retried after a transient failure.", &st.Retries},
	}
	var errs []error
	for _, c := range plain {
		v := c.value
		_, err := m.Int64ObservableCounter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.desc),
			metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
				o.Observe(v.Load())
				return nil
			}))
		errs = append(errs, err)
	}
	_, err := m.Int64ObservableCounter("attrsync.messages.skipped", metric.WithUnit("{message}"),
		metric.WithDescription("Messages skipped by rule (heartbeats, ignored deletes, ...) or as stale (already reflected by the state), by reason."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for reason, n := range st.SkippedBy() {
				o.Observe(n, metric.WithAttributes(attribute.String("reason", reason)))
			}
			o.Observe(st.Stale.Load(), metric.WithAttributes(attribute.String("reason", "stale")))
			return nil
		}))
	errs = append(errs, err)
	_, err = m.Int64ObservableCounter("attrsync.messages.unchanged", metric.WithUnit("{message}"),
		metric.WithDescription("Messages that changed no mapped attribute of their user."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			o.Observe(st.Unchanged.Load())
			return nil
		}))
	errs = append(errs, err)
	_, err = m.Int64ObservableCounter("attrsync.messages.dead_lettered", metric.WithUnit("{message}"),
		metric.WithDescription("Messages written to the dead-letter topic, by failure class."),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			for class, n := range st.DeadLetteredBy() {
				o.Observe(n, metric.WithAttributes(attribute.String("class", class)))
			}
			return nil
		}))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: observe pipeline counters: %w", err)
	}
	return nil
}
