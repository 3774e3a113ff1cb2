package demo

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// generator produces a Debezium change stream of a users table, in the
// schema-wrapped form a JsonConverter with schemas enabled writes, so the
// demo exercises logical time types.
type generator struct {
	rng        *rand.Rand
	users      int
	changeRate float64
	rows       []row
	start      time.Time
	schema     map[string]any
}

type row struct {
	FirstName string
	City      string
	Plan      string
	Seats     int
	Active    bool
	Version   int
	SignupUS  int64 // io.debezium.time.MicroTimestamp
	LastLogin int64 // unmapped
}

var (
	firstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia", "Leslie"}
	cities     = []string{"Oslo", "Lyon", "Austin", "Porto", "Osaka", "Cork", "Quito", "Perth"}
	plans      = []string{"free", "pro", "team", "enterprise"}
)

func newGenerator(users int, changeRate float64, seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, 7)), users: users, changeRate: changeRate, rows: make([]row, users), start: time.Now(), schema: envelopeSchema()}
}

// email is the identifier of user i.
func email(i int) string { return fmt.Sprintf("user%06d@example.com", i) }

// next returns the event for the n-th message: the first pass creates every
// user (op c); later events update a random user, changing a mapped column
// with probability changeRate and otherwise only last_login.
func (g *generator) next(n int) change.Message {
	i, op := n, "c"
	if n >= g.users {
		i, op = g.rng.IntN(g.users), "u"
	}
	r := &g.rows[i]
	before := *r
	switch {
	case op == "c":
		*r = row{
			FirstName: firstNames[g.rng.IntN(len(firstNames))], City: cities[g.rng.IntN(len(cities))],
			Plan: plans[g.rng.IntN(len(plans))], Seats: 1 + g.rng.IntN(50), Active: true, Version: 1,
			SignupUS: g.start.Add(-time.Duration(g.rng.IntN(1000)) * time.Hour).UnixMicro(),
		}
	case g.rng.Float64() < g.changeRate:
		r.Version++
		switch g.rng.IntN(4) {
		case 0:
			r.City = cities[g.rng.IntN(len(cities))]
		case 1:
			r.Plan = plans[g.rng.IntN(len(plans))]
		case 2:
			r.Seats = 1 + g.rng.IntN(50)
		default:
			r.Active = !r.Active
		}
	}
	r.LastLogin = time.Now().UnixMilli()
	var beforeRow any
	if op == "u" {
		beforeRow = rowJSON(i, before)
	}
	value, err := json.Marshal(map[string]any{
		"schema": g.schema,
		"payload": map[string]any{
			"before": beforeRow, "after": rowJSON(i, *r), "op": op, "ts_ms": time.Now().UnixMilli(),
			"source": map[string]any{"connector": "postgresql", "db": "app", "schema": "public", "table": "users", "ts_ms": time.Now().UnixMilli()},
		},
	})
	if err != nil {
		panic(err) // only plain values are marshalled
	}
	return change.Message{Key: fmt.Appendf(nil, `{"id":%d}`, i), Value: value}
}

func rowJSON(i int, r row) map[string]any {
	return map[string]any{
		"id": i, "email": email(i), "first_name": r.FirstName, "city": r.City,
		"plan": r.Plan, "seats": r.Seats, "active": r.Active, "version": r.Version,
		"signup_at": r.SignupUS, "last_login": r.LastLogin,
	}
}

// envelopeSchema is the Kafka Connect schema of the value, trimmed to what
// the decoder reads: the after row's field types.
func envelopeSchema() map[string]any {
	return map[string]any{
		"type": "struct", "name": "app.public.users.Envelope",
		"fields": []any{
			map[string]any{"field": "after", "type": "struct", "optional": true, "name": "app.public.users.Value", "fields": []any{
				map[string]any{"field": "id", "type": "int64"},
				map[string]any{"field": "email", "type": "string"},
				map[string]any{"field": "first_name", "type": "string", "optional": true},
				map[string]any{"field": "city", "type": "string", "optional": true},
				map[string]any{"field": "plan", "type": "string", "optional": true},
				map[string]any{"field": "seats", "type": "int32", "optional": true},
				map[string]any{"field": "active", "type": "boolean", "optional": true},
				map[string]any{"field": "version", "type": "int32"},
				map[string]any{"field": "signup_at", "type": "int64", "name": "io.debezium.time.MicroTimestamp", "version": 1},
				map[string]any{"field": "last_login", "type": "int64", "optional": true},
			}},
			map[string]any{"field": "op", "type": "string"},
			map[string]any{"field": "ts_ms", "type": "int64", "optional": true},
		},
	}
}
