package cdc_test

import (
	"testing"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// BenchmarkDecodeAndMapFormats is decode and map of one Debezium update of
// cdctest.Users (15 columns, before image null as Postgres sends it by
// default) onto 11 attributes, per format: JSON with JsonConverter's
// schema wrapper, Avro and Protobuf in the Confluent wire format (schema
// cached after the first message). The decoders build only the mapped
// fields, as the pipeline wires them. It reports events/s.
func BenchmarkDecodeAndMapFormats(b *testing.B) {
	mapper, err := mapping.New(usersMapping)
	if err != nil {
		b.Fatal(err)
	}
	ev := cdctest.UserEvents(1, 2, 1)[1]
	ev.Before = nil
	reg := srfake.New()
	defer reg.Close()
	registry, err := cdc.NewRegistry(cdc.RegistryConfig{URL: reg.URL()})
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range []cdctest.Writer{cdctest.JSON{}, cdctest.NewAvro(reg), cdctest.NewProtobuf(reg)} {
		b.Run(w.Format(), func(b *testing.B) {
			key, value, err := w.Event(cdctest.Users(), ev)
			if err != nil {
				b.Fatal(err)
			}
			d, err := cdc.New(w.Format(), cdc.OnlyFields(mapper.SourceFields()...), cdc.WithRegistry(registry))
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			pos := change.Position{Topic: "dbserver1.public.users"}
			for b.Loop() {
				row, err := d.Decode(key, value)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := mapper.Map(row, pos); err != nil {
					b.Fatal(err)
				}
				pos.Offset++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
