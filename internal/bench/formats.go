package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// The decode-and-map rows: the binary formats, each beside JSON.
const (
	MetricDecodeAvro     = "Decode and map, Avro"
	MetricDecodeProtobuf = "Decode and map, Protobuf"
)

// formatRounds is how many times each format is timed; the median is
// reported. The rounds of the three formats alternate, so that a neighbour
// loading the shared cores for a while weighs on all three alike.
const formatRounds = 3

// formatPool is the number of distinct events encoded per format; the
// timed loop cycles through them.
const formatPool = 5000

// formatResult is one format's decode-and-map figure.
type formatResult struct {
	perSecond float64 // median over the rounds
	bytes     int     // mean value size
	rounds    []float64
}

func (r *runner) formats() {
	perRound := max(r.opts.Events/formatRounds, formatPool)
	defer r.step("decode and map per format: %s events × %d rounds each", thousands(int64(perRound)), formatRounds)()
	res, err := decodeFormats(r.ctx, r.opts.Seed, perRound)
	if err != nil {
		r.fail(fmt.Errorf("decode and map: %w", err), MetricDecodeAvro, MetricDecodeProtobuf)
		return
	}
	base := res[cdc.FormatDebezium]
	for _, f := range []struct{ metric, format string }{
		{MetricDecodeAvro, cdc.FormatAvro},
		{MetricDecodeProtobuf, cdc.FormatProtobuf},
	} {
		got := res[f.format]
		r.set(Row{
			Metric:   f.metric,
			Value:    fmt.Sprintf("%s events/s", thousands(int64(got.perSecond))),
			Baseline: fmt.Sprintf("%s events/s JSON", thousands(int64(base.perSecond))),
			Versus:   fmt.Sprintf("%.2f×", got.perSecond/base.perSecond),
			Notes: fmt.Sprintf("one goroutine, median of %d rounds (%s; JSON %s); the same update events with their before image, "+
				"%d B each (JSON with schemas %d B), Confluent wire format, schema fetched once from a registry on loopback",
				formatRounds, rates(got.rounds), rates(base.rounds), got.bytes, base.bytes),
		})
	}
}

// rates lists events/s figures in thousands: "61k, 64k, 58k".
func rates(xs []float64) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.0fk", x/1000)
	}
	return strings.Join(out, ", ")
}

// decodeFormats times decode and map, as a partition worker does them, of
// one set of update events written as JSON with schemas (what the diff
// path reads), Avro and Protobuf. Decoder and mapper are built by app from
// the bench's own sync config, so they read the same ten attributes the
// diff path maps, and the binary formats fetch their schemas over HTTP
// from a registry on loopback, once.
func decodeFormats(ctx context.Context, seed uint64, perRound int) (map[string]formatResult, error) {
	reg := srfake.NewRegistry()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	defer srv.Close()

	cfg, err := syncSpec{
		brokers: []string{"127.0.0.1:1"}, topic: formatsTable().Topic, group: "bench-formats",
		redisURL: "redis://127.0.0.1:1", iterURL: "http://127.0.0.1:1", bulkPerSecond: 5, scope: "local", maxWait: time.Second,
	}.config()
	if err != nil {
		return nil, err
	}
	// The Protobuf converter drops Debezium's MicroTimestamp name, so the
	// attribute needs its unit there (as the README says); with JSON and
	// Avro the name decides and the unit is not used.
	for i := range cfg.Iterable.Attributes {
		if cfg.Iterable.Attributes[i].From == "signup_at" {
			cfg.Iterable.Attributes[i].Unit = "us"
		}
	}
	mapper, err := app.NewMapper(cfg)
	if err != nil {
		return nil, err
	}
	events := formatEvents(seed)
	table := formatsTable()

	type stream struct {
		format       string
		dec          *cdc.Decoder
		keys, values [][]byte
	}
	var streams []*stream
	for _, w := range []cdctest.Writer{cdctest.JSON{}, cdctest.NewAvro(reg), cdctest.NewProtobuf(reg)} {
		c := *cfg
		c.Source.Format = w.Format()
		if w.Format() != cdc.FormatDebezium {
			c.Source.SchemaRegistry.URL = "http://" + l.Addr().String()
		}
		dec, err := app.NewDecoder(&c, mapper)
		if err != nil {
			return nil, err
		}
		s := &stream{format: w.Format(), dec: dec}
		for _, ev := range events {
			k, v, err := w.Event(table, ev)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.Format(), err)
			}
			s.keys, s.values = append(s.keys, k), append(s.values, v)
		}
		streams = append(streams, s)
	}

	out := map[string]formatResult{}
	for round := 0; round <= formatRounds; round++ {
		for _, s := range streams {
			pos := change.Position{Topic: table.Topic}
			start := time.Now()
			n := perRound
			if round == 0 {
				n = len(s.values) // warm-up: the schema fetch, caches, the first allocations
			}
			for i := range n {
				j := i % len(s.values)
				row, err := s.dec.DecodeContext(ctx, s.keys[j], s.values[j])
				if err != nil {
					return nil, fmt.Errorf("%s: decode: %w", s.format, err)
				}
				if _, err := mapper.Map(row, pos); err != nil {
					return nil, fmt.Errorf("%s: map: %w", s.format, err)
				}
				s.dec.Recycle(row) // as the pipeline does
				pos.Offset++
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if round == 0 {
				continue
			}
			res := out[s.format]
			res.rounds = append(res.rounds, float64(n)/time.Since(start).Seconds())
			out[s.format] = res
		}
	}
	for _, s := range streams {
		res := out[s.format]
		sorted := slices.Sorted(slices.Values(res.rounds))
		res.perSecond = sorted[len(sorted)/2]
		total := 0
		for _, v := range s.values {
			total += len(v)
		}
		res.bytes = total / len(s.values)
		out[s.format] = res
	}
	return out, nil
}

// formatsTable is the bench's users table (see gen.go) as Debezium
// describes it: signup_at a MicroTimestamp.
func formatsTable() *cdctest.Table {
	opt := func(name string, t cdctest.Type) cdctest.Column {
		return cdctest.Column{Name: name, Type: t, Optional: true}
	}
	return &cdctest.Table{
		Topic: "bench.formats",
		Key:   "id",
		Columns: []cdctest.Column{
			{Name: "id", Type: cdctest.Int64},
			{Name: "email", Type: cdctest.String},
			opt("first_name", cdctest.String), opt("last_name", cdctest.String),
			opt("city", cdctest.String), opt("country", cdctest.String), opt("plan", cdctest.String),
			opt("seats", cdctest.Int32), opt("active", cdctest.Boolean),
			{Name: "version", Type: cdctest.Int32},
			opt("score", cdctest.Float64),
			{Name: "signup_at", Type: cdctest.Int64, Logical: cdctest.DebeziumMicroTS},
			opt("last_login", cdctest.Int64),
		},
	}
}

// formatEvents are formatPool update events of distinct users, each with
// its before image, every mapped column set, as the generator's updates.
func formatEvents(seed uint64) []cdctest.Event {
	rng := rand.New(rand.NewPCG(seed, 11))
	start := time.Now()
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	row := func(i, version int) cdctest.Row {
		return cdctest.Row{
			"id": int64(i), "email": email(i),
			"first_name": pick(firstNames), "last_name": pick(lastNames), "city": pick(cities),
			"country": pick(countries), "plan": pick(plans), "seats": 1 + rng.IntN(50),
			"active": rng.IntN(2) == 0, "version": version, "score": float64(rng.IntN(1000)) / 10,
			"signup_at":  start.Add(-time.Duration(i%1000) * time.Hour).UnixMicro(),
			"last_login": start.UnixMilli(),
		}
	}
	events := make([]cdctest.Event, formatPool)
	for i := range events {
		ms := start.UnixMilli() + int64(i)
		events[i] = cdctest.Event{Op: "u", Before: row(i, 1), After: row(i, 2), SourceTsMs: ms, TsMs: ms}
	}
	return events
}
