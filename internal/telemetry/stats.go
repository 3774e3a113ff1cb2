package telemetry

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/attrsync/attrsync/internal/pipeline"
)

// counter is one asynchronous counter read from a pipeline.Snapshot.
type counter struct {
	name, unit, desc string
	value            func(pipeline.Snapshot) int64
}

// ObserveStats exports the pipeline's counters as OTel asynchronous
// counters, from one snapshot per collection: the pipeline already counts
// every message into exactly one outcome, so reading its counts keeps
// metrics and its own figures from ever disagreeing.
func (t *Telemetry) ObserveStats(snapshot func() pipeline.Snapshot) error {
	m := t.meters.Meter(scope)
	plain := []counter{
		{"attrsync.messages.consumed", "{message}", "Messages read from Kafka.", func(s pipeline.Snapshot) int64 { return s.Consumed }},
		{"attrsync.messages.accepted", "{message}", "Messages whose user Iterable accepted.", func(s pipeline.Snapshot) int64 { return s.Accepted }},
		{"attrsync.messages.unchanged", "{message}", "Messages that changed no mapped attribute of their user.", func(s pipeline.Snapshot) int64 { return s.Unchanged }},
		{"attrsync.users.changed", "{user}", "Users sent with at least one changed attribute and accepted.", func(s pipeline.Snapshot) int64 { return s.UsersChanged }},
		{"attrsync.users.unchanged", "{user}", "Users whose changes changed no mapped attribute: nothing sent.", func(s pipeline.Snapshot) int64 { return s.UsersUnchanged }},
		{"attrsync.users.absent", "{user}", "Users update mode did not touch because Iterable does not have them.", func(s pipeline.Snapshot) int64 { return s.UsersAbsent }},
		{"attrsync.users.rejected", "{user}", "Users Iterable refused; their messages were dead-lettered.", func(s pipeline.Snapshot) int64 { return s.UsersRejected }},
		{"attrsync.users.moved", "{user}", "Profiles moved to a new email (users/updateEmail) when a row's email changed.", func(s pipeline.Snapshot) int64 { return s.EmailsMoved }},
		{"attrsync.users.deleted", "{user}", "Users deleted in Iterable (source.on_delete: delete).", func(s pipeline.Snapshot) int64 { return s.UsersDeleted }},
		{"attrsync.attributes.sent", "{attribute}", "Attributes sent to Iterable and accepted.", func(s pipeline.Snapshot) int64 { return s.AttrsSent }},
		{"attrsync.attributes.filtered_out", "{attribute}", "Fields Iterable answered 200 to but did not store (filteredOutFields: the field does not exist and create_new_fields is off).", func(s pipeline.Snapshot) int64 { return s.FieldsFilteredOut }},
		{"attrsync.iterable.retries", "{retry}", "Iterable requests retried after a transient failure.", func(s pipeline.Snapshot) int64 { return s.Retries }},
	}
	var errs []error
	instruments := make([]metric.Observable, 0, len(plain)+2)
	counters := make([]metric.Int64ObservableCounter, len(plain))
	for i, c := range plain {
		ctr, err := m.Int64ObservableCounter(c.name, metric.WithUnit(c.unit), metric.WithDescription(c.desc))
		errs = append(errs, err)
		counters[i] = ctr
		instruments = append(instruments, ctr)
	}
	skipped, err := m.Int64ObservableCounter("attrsync.messages.skipped", metric.WithUnit("{message}"),
		metric.WithDescription("Messages skipped by rule (heartbeats, ignored deletes, ...) or as stale (already reflected by the state), by reason."))
	errs = append(errs, err)
	dead, err := m.Int64ObservableCounter("attrsync.messages.dead_lettered", metric.WithUnit("{message}"),
		metric.WithDescription("Messages written to the dead-letter topic, by failure class."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("telemetry: observe pipeline counters: %w", err)
	}
	instruments = append(instruments, skipped, dead)
	_, err = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := snapshot()
		for i, c := range plain {
			o.ObserveInt64(counters[i], c.value(s))
		}
		for reason, n := range s.SkippedBy {
			o.ObserveInt64(skipped, n, metric.WithAttributes(attribute.String("reason", reason)))
		}
		o.ObserveInt64(skipped, s.Stale, metric.WithAttributes(attribute.String("reason", "stale")))
		for class, n := range s.DeadLetteredBy {
			o.ObserveInt64(dead, n, metric.WithAttributes(attribute.String("class", class)))
		}
		return nil
	}, instruments...)
	if err != nil {
		return fmt.Errorf("telemetry: observe pipeline counters: %w", err)
	}
	return nil
}
