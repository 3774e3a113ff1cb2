package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
)

// generator produces a Debezium change stream of a users table as events,
// which a cdctest.Writer then writes the way Kafka Connect's converter of
// the chosen format would: JsonConverter with schemas, or Confluent's Avro
// or Protobuf converter. One seed gives the same rows in every format.
type generator struct {
	rng        *rand.Rand
	users      int
	changeRate float64
	rows       []row
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

// signupEpoch anchors the generated signup times, so that a seed gives the
// same profiles whenever and in whichever format the demo runs.
var signupEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// usersTable is the captured table as Debezium describes a Postgres users
// table by default: signup_at, a timestamp, is an int64 of microseconds
// named io.debezium.time.MicroTimestamp. The Avro converter keeps that
// name; the Protobuf converter drops it, which is why the demo's mapping
// gives signedUpAt its unit.
func usersTable() *cdctest.Table {
	return &cdctest.Table{
		Topic: topic,
		Key:   "id",
		Columns: []cdctest.Column{
			{Name: "id", Type: cdctest.Int64},
			{Name: "email", Type: cdctest.String},
			{Name: "first_name", Type: cdctest.String, Optional: true},
			{Name: "city", Type: cdctest.String, Optional: true},
			{Name: "plan", Type: cdctest.String, Optional: true},
			{Name: "seats", Type: cdctest.Int32, Optional: true},
			{Name: "active", Type: cdctest.Boolean, Optional: true},
			{Name: "version", Type: cdctest.Int32},
			{Name: "signup_at", Type: cdctest.Int64, Logical: cdctest.DebeziumMicroTS},
			{Name: "last_login", Type: cdctest.Int64, Optional: true},
		},
	}
}

func newGenerator(users int, changeRate float64, seed uint64) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, 7)), users: users, changeRate: changeRate, rows: make([]row, users)}
}

// email is the identifier of user i.
func email(i int) string { return fmt.Sprintf("user%06d@example.com", i) }

// next returns the event for the n-th message: the first pass creates every
// user (op c); later events update a random user, changing a mapped column
// with probability changeRate and otherwise only last_login.
func (g *generator) next(n int) cdctest.Event {
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
			SignupUS: signupEpoch.Add(-time.Duration(g.rng.IntN(1000)) * time.Hour).UnixMicro(),
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
	now := time.Now().UnixMilli()
	r.LastLogin = now
	ev := cdctest.Event{Op: op, After: r.values(i), SourceTsMs: now, TsMs: now}
	if op == "u" {
		ev.Before = before.values(i)
	}
	return ev
}

func (r row) values(i int) cdctest.Row {
	return cdctest.Row{
		"id": int64(i), "email": email(i), "first_name": r.FirstName, "city": r.City,
		"plan": r.Plan, "seats": r.Seats, "active": r.Active, "version": r.Version,
		"signup_at": r.SignupUS, "last_login": r.LastLogin,
	}
}
