package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// generator writes a Debezium change stream of a users table in the
// schema-wrapped form a JsonConverter with schemas enabled writes (the
// heaviest form attrsync decodes), like internal/demo's generator. Unlike
// the demo's, it holds a compact row per user so a million users fit in a
// few megabytes, and it assembles JSON by appending bytes: the generator
// shares the process with what is measured, and json.Marshal of a map per
// event would make producing slower than consuming.
//
// Ten columns are mapped (see syncYAML); last_login is not, so an event
// that only touches it changes nothing attrsync sends.
type generator struct {
	rng    *rand.Rand
	rows   []row
	start  time.Time
	schema []byte // the "schema" member, identical in every event
}

// row is one user's mapped columns as indexes into the value tables below.
type row struct {
	version uint32
	first   uint8
	last    uint8
	city    uint8
	country uint8
	plan    uint8
	active  bool
	seats   uint16
	score   uint16
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie"}
	lastNames  = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Perlman", "Lamport"}
	cities     = []string{"Oslo", "Lyon", "Austin", "Porto", "Osaka", "Cork", "Quito", "Perth"}
	countries  = []string{"NO", "FR", "US", "PT", "JP", "IE", "EC", "AU"}
	plans      = []string{"free", "pro", "team", "enterprise"}
)

func newGenerator(users int, seed uint64) *generator {
	g := &generator{rng: rand.New(rand.NewPCG(seed, 7)), rows: make([]row, users), start: time.Now(), schema: envelopeSchema()}
	for i := range g.rows {
		g.rows[i] = row{
			version: 1, first: g.pick(len(firstNames)), last: g.pick(len(lastNames)),
			city: g.pick(len(cities)), country: g.pick(len(countries)), plan: g.pick(len(plans)),
			active: true, seats: uint16(1 + g.rng.IntN(50)), score: uint16(g.rng.IntN(1000)),
		}
	}
	return g
}

func (g *generator) pick(n int) uint8 { return uint8(g.rng.IntN(n)) }

// users is the number of users the generator knows.
func (g *generator) users() int { return len(g.rows) }

// email is the identifier of user i.
func email(i int) string { return fmt.Sprintf("user%07d@example.com", i) }

// event is one generated message and what the bench needs to know about it.
type event struct {
	key, value []byte
	user       int
	version    uint32 // the user's version column after the event
	sourceTS   int64  // source.ts_ms, Unix milliseconds
}

// create returns the snapshot event (op "r") of user i as it is now.
func (g *generator) create(i int, ts time.Time) event {
	return g.encode(i, "r", nil, ts)
}

// update returns an update event (op "u") for a random user: with
// probability changeRate it bumps version and changes one other mapped
// column; otherwise it only touches the unmapped last_login.
func (g *generator) update(changeRate float64, ts time.Time) event {
	i := g.rng.IntN(len(g.rows))
	before := g.rows[i]
	if g.rng.Float64() < changeRate {
		r := &g.rows[i]
		r.version++
		switch g.rng.IntN(5) {
		case 0:
			r.city = (r.city + 1 + g.pick(len(cities)-1)) % uint8(len(cities))
			r.country = r.city // a move changes both
		case 1:
			r.plan = (r.plan + 1) % uint8(len(plans))
		case 2:
			r.seats = r.seats%50 + 1
		case 3:
			r.active = !r.active
		default:
			r.score = (r.score + 1 + uint16(g.rng.IntN(100))) % 1000
		}
	}
	return g.encode(i, "u", &before, ts)
}

// encode appends the JSON of one event, in the key order Debezium writes.
func (g *generator) encode(i int, op string, before *row, ts time.Time) event {
	ms := ts.UnixMilli()
	b := make([]byte, 0, len(g.schema)+900)
	b = append(b, `{"schema":`...)
	b = append(b, g.schema...)
	b = append(b, `,"payload":{"before":`...)
	if before == nil {
		b = append(b, "null"...)
	} else {
		b = g.appendRow(b, i, *before, ms)
	}
	b = append(b, `,"after":`...)
	b = g.appendRow(b, i, g.rows[i], ms)
	b = append(b, `,"source":{"version":"2.7.0.Final","connector":"postgresql","name":"app","ts_ms":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, `,"snapshot":"false","db":"app","schema":"public","table":"users","txId":`...)
	b = strconv.AppendInt(b, 1000+int64(i), 10)
	b = append(b, `},"op":"`...)
	b = append(b, op...)
	b = append(b, `","ts_ms":`...)
	b = strconv.AppendInt(b, ms, 10)
	b = append(b, "}}"...)
	return event{
		key: fmt.Appendf(nil, `{"id":%d}`, i), value: b,
		user: i, version: g.rows[i].version, sourceTS: ms,
	}
}

// appendRow appends a row object. Every string is ASCII without quotes or
// backslashes, so strconv quoting is valid JSON.
func (g *generator) appendRow(b []byte, i int, r row, ms int64) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, int64(i), 10)
	b = append(b, `,"email":`...)
	b = strconv.AppendQuote(b, email(i))
	b = appendStr(b, "first_name", firstNames[r.first])
	b = appendStr(b, "last_name", lastNames[r.last])
	b = appendStr(b, "city", cities[r.city])
	b = appendStr(b, "country", countries[r.country])
	b = appendStr(b, "plan", plans[r.plan])
	b = append(b, `,"seats":`...)
	b = strconv.AppendInt(b, int64(r.seats), 10)
	b = append(b, `,"active":`...)
	b = strconv.AppendBool(b, r.active)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(r.version), 10)
	b = append(b, `,"score":`...)
	b = strconv.AppendFloat(b, float64(r.score)/10, 'f', 1, 64)
	// Signed up some hours before the run, fixed per user.
	b = append(b, `,"signup_at":`...)
	b = strconv.AppendInt(b, g.start.Add(-time.Duration(i%1000)*time.Hour).UnixMicro(), 10)
	b = append(b, `,"last_login":`...)
	b = strconv.AppendInt(b, ms, 10)
	return append(b, '}')
}

func appendStr(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return strconv.AppendQuote(b, v)
}

// envelopeSchema is the Kafka Connect schema of the value: the before and
// after rows' field types (with Debezium's logical time type on signup_at),
// the source block and the envelope fields.
func envelopeSchema() []byte {
	field := func(name, typ string, optional bool, extra ...string) map[string]any {
		f := map[string]any{"field": name, "type": typ, "optional": optional}
		for i := 0; i+1 < len(extra); i += 2 {
			f[extra[i]] = extra[i+1]
		}
		return f
	}
	rowFields := []any{
		field("id", "int64", false), field("email", "string", false),
		field("first_name", "string", true), field("last_name", "string", true),
		field("city", "string", true), field("country", "string", true),
		field("plan", "string", true), field("seats", "int32", true),
		field("active", "boolean", true), field("version", "int32", false),
		field("score", "double", true),
		field("signup_at", "int64", false, "name", "io.debezium.time.MicroTimestamp"),
		field("last_login", "int64", true),
	}
	value := func(name string) map[string]any {
		return map[string]any{"field": name, "type": "struct", "optional": true, "name": "app.public.users.Value", "fields": rowFields}
	}
	schema := map[string]any{
		"type": "struct", "name": "app.public.users.Envelope", "optional": false,
		"fields": []any{
			value("before"), value("after"),
			map[string]any{"field": "source", "type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "fields": []any{
				field("version", "string", false), field("connector", "string", false), field("name", "string", false),
				field("ts_ms", "int64", false), field("snapshot", "string", true), field("db", "string", false),
				field("schema", "string", false), field("table", "string", false), field("txId", "int64", true),
			}},
			field("op", "string", false), field("ts_ms", "int64", true),
		},
	}
	b, err := json.Marshal(schema)
	if err != nil {
		panic(err) // only plain values are marshalled
	}
	return b
}
