// Package cdctest writes Debezium change events of a table the way Kafka
// Connect's converters would put them on a topic: JsonConverter with
// schemas (the JSON "debezium" format), and Confluent's AvroConverter and
// ProtobufConverter in the Confluent wire format with their schemas
// registered in an in-memory schema registry (srfake). One stream written
// in each format must decode to the same rows; that is what the cdc tests
// check. It is imported only by tests (and, later, the demo and bench).
package cdctest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// Type is a Kafka Connect schema type.
type Type string

// The Kafka Connect types a column can have.
const (
	Int16   Type = "int16"
	Int32   Type = "int32"
	Int64   Type = "int64"
	Float32 Type = "float"
	Float64 Type = "double"
	Boolean Type = "boolean"
	String  Type = "string"
	Bytes   Type = "bytes"
	Array   Type = "array"
	Struct  Type = "struct"
)

// Kafka Connect's logical types and some of Debezium's, by schema name.
const (
	ConnectDate      = "org.apache.kafka.connect.data.Date"      // int32 days
	ConnectTime      = "org.apache.kafka.connect.data.Time"      // int32 ms of the day
	ConnectTimestamp = "org.apache.kafka.connect.data.Timestamp" // int64 epoch ms
	ConnectDecimal   = "org.apache.kafka.connect.data.Decimal"   // bytes with Scale
	DebeziumDate     = "io.debezium.time.Date"
	DebeziumMicroTS  = "io.debezium.time.MicroTimestamp"
	DebeziumZonedTS  = "io.debezium.time.ZonedTimestamp"
	DebeziumJSON     = "io.debezium.data.Json"
	DebeziumVarDec   = "io.debezium.data.VariableScaleDecimal"
)

// Column is one field of a table row (a Connect struct field).
type Column struct {
	Name     string
	Type     Type
	Optional bool
	// Logical is the Connect schema name of the field's type, if any.
	Logical string
	// Scale is a Decimal's scale; its values are decimal strings ("12.50").
	Scale int
	// Items is an Array's element type; Fields a Struct's fields.
	Items  *Column
	Fields []Column
}

// Table is a captured table: the topic Debezium writes it to (which also
// names its schemas), its key column and its columns.
type Table struct {
	Topic   string
	Key     string
	Columns []Column
}

// Row is one row's values by column name: int, int32 or int64 for
// integers (days, epoch counts), float32 or float64, bool, string, []byte,
// a decimal string for a Decimal, []any for an Array, map[string]any for a
// Struct, nil for null.
type Row map[string]any

// Event is one Debezium change event of a table.
type Event struct {
	Op            string // c, u, r, d, t
	Before, After Row
	SourceTsMs    int64
	TsMs          int64
}

// Users is a users table whose every column type the three formats carry
// alike: Kafka Connect's own logical types (Debezium's
// time.precision.mode=connect), plain and optional scalars, an array.
func Users() *Table {
	return &Table{
		Topic: "dbserver1.public.users",
		Key:   "id",
		Columns: []Column{
			{Name: "id", Type: Int64},
			{Name: "email", Type: String},
			{Name: "first_name", Type: String, Optional: true},
			{Name: "last_name", Type: String, Optional: true},
			{Name: "phone", Type: String, Optional: true},
			{Name: "signup_at", Type: Int64, Optional: true, Logical: ConnectTimestamp},
			{Name: "birth_date", Type: Int32, Optional: true, Logical: ConnectDate},
			{Name: "send_time", Type: Int32, Optional: true, Logical: ConnectTime},
			{Name: "is_active", Type: Boolean, Optional: true},
			{Name: "lifetime_value", Type: Float64, Optional: true},
			{Name: "score", Type: Float32, Optional: true},
			{Name: "credits", Type: Int32, Optional: true},
			{Name: "level", Type: Int16, Optional: true},
			{Name: "tags", Type: Array, Items: &Column{Type: String}},
			{Name: "avatar", Type: Bytes, Optional: true},
		},
	}
}

// WithColumn returns a copy of t with one more column: the schema
// evolution of an ALTER TABLE ADD COLUMN.
func (t *Table) WithColumn(c Column) *Table {
	out := *t
	out.Columns = append(append([]Column(nil), t.Columns...), c)
	return &out
}

// UserEvents generates n events of Users for users distinct users: a
// snapshot read of each, then updates (about one in ten with nulls), and a
// delete about every twentieth event. Times are fixed by seed.
func UserEvents(users, n int, seed uint64) []Event {
	rng := rand.New(rand.NewPCG(seed, 2))
	rows := make([]Row, users)
	var out []Event
	ts := int64(1_700_000_000_000)
	for i := 0; i < n; i++ {
		u := i % users
		ts += int64(rng.IntN(1000))
		ev := Event{SourceTsMs: ts, TsMs: ts + 5}
		switch {
		case rows[u] == nil:
			rows[u] = userRow(rng, u, false)
			ev.Op, ev.After = "r", rows[u]
		case rng.IntN(20) == 0:
			ev.Op, ev.Before = "d", rows[u]
			rows[u] = nil
		default:
			ev.Op, ev.Before = "u", rows[u]
			rows[u] = userRow(rng, u, rng.IntN(10) == 0)
			ev.After = rows[u]
		}
		out = append(out, ev)
	}
	return out
}

func userRow(rng *rand.Rand, u int, nulls bool) Row {
	r := Row{
		"id":             int64(u),
		"email":          fmt.Sprintf("User%04d@Example.com", u),
		"first_name":     fmt.Sprintf("Name-%d", rng.IntN(100)),
		"last_name":      "Example",
		"phone":          fmt.Sprintf("+1555%07d", rng.IntN(10_000_000)),
		"signup_at":      int64(1_600_000_000_000 + rng.IntN(1e9)*1000),
		"birth_date":     int32(rng.IntN(20_000)),
		"send_time":      int32(rng.IntN(86_400) * 1000),
		"is_active":      rng.IntN(2) == 0,
		"lifetime_value": float64(rng.IntN(1_000_000)) / 100,
		"score":          float32(rng.IntN(1000)) / 4,
		"credits":        int32(rng.IntN(500)),
		"level":          int32(rng.IntN(5)),
		"tags":           []any{"t" + fmt.Sprint(rng.IntN(3)), "news"},
		"avatar":         []byte{byte(u), byte(rng.IntN(256)), 0xff},
	}
	if nulls {
		for _, c := range []string{"first_name", "phone", "signup_at", "birth_date", "lifetime_value", "avatar"} {
			r[c] = nil
		}
	}
	return r
}

// FromJSONEnvelope reads a bare JSON Debezium envelope (as internal/testenv
// writes them) into an Event, so a generated JSON stream can be written
// again in another format. Numbers become int64 when integral, else
// float64; objects map[string]any.
func FromJSONEnvelope(value []byte) (Event, error) {
	var env struct {
		Op     string         `json:"op"`
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
		TsMs   int64          `json:"ts_ms"`
		Source struct {
			TsMs int64 `json:"ts_ms"`
		} `json:"source"`
	}
	if err := json.Unmarshal(value, &env); err != nil {
		return Event{}, err
	}
	return Event{
		Op: env.Op, Before: fromJSON(env.Before), After: fromJSON(env.After),
		TsMs: env.TsMs, SourceTsMs: env.Source.TsMs,
	}, nil
}

func fromJSON(m map[string]any) Row {
	if m == nil {
		return nil
	}
	r := Row{}
	for k, v := range m {
		r[k] = fromJSONValue(v)
	}
	return r
}

func fromJSONValue(v any) any {
	switch t := v.(type) {
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	case map[string]any:
		return map[string]any(fromJSON(t))
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = fromJSONValue(x)
		}
		return out
	}
	return v
}
