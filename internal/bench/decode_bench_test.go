package bench

import (
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/change"
)

// BenchmarkDiffPathDecodeAndMap is decode and map of exactly the events the
// diff-path scenarios consume (the generator's schema-wrapped Debezium
// updates, before image included), with the decoder and mapper built from
// the bench's own sync config as `attrsync run` builds them. Run it on one
// core (-cpu 1): events/s is then the rate of one partition worker. Besides
// the wall-clock rate it reports cpu-ns/op, the process's CPU time per
// event, which a neighbour loading the shared cores disturbs far less.
func BenchmarkDiffPathDecodeAndMap(b *testing.B) {
	cfg, err := syncSpec{
		brokers: []string{"127.0.0.1:1"}, topic: "bench.diff.10", group: "bench-decode",
		redisURL: "redis://127.0.0.1:1", iterURL: "http://127.0.0.1:1", bulkPerSecond: 5, scope: "local", maxWait: time.Second,
	}.config()
	if err != nil {
		b.Fatal(err)
	}
	mapper, err := app.NewMapper(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dec, err := app.NewDecoder(cfg, mapper)
	if err != nil {
		b.Fatal(err)
	}
	g := newGenerator(10_000, 1)
	events := make([]event, 4096)
	now := time.Now()
	for i := range events {
		events[i] = g.update(0.1, now.Add(time.Duration(i)*time.Millisecond))
	}
	var size int
	for _, ev := range events {
		size += len(ev.value)
	}
	b.SetBytes(int64(size / len(events)))
	b.ReportAllocs()
	pos := change.Position{Topic: "bench.diff.10"}
	cpu0 := cpuTime()
	i := 0
	for b.Loop() {
		ev := &events[i%len(events)]
		row, err := dec.Decode(ev.key, ev.value)
		if err != nil {
			b.Fatal(err)
		}
		uc, err := mapper.Map(row, pos)
		if err != nil {
			b.Fatal(err)
		}
		dec.Recycle(row) // as the pipeline does
		if len(uc.Attrs) != attributeCount {
			b.Fatalf("%d attributes mapped, want %d", len(uc.Attrs), attributeCount)
		}
		pos.Offset++
		i++
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
