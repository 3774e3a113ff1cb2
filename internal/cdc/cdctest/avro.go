package cdctest

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/avro"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// schemaIDs registers schemas in a registry once per subject and text.
type schemaIDs struct {
	reg *srfake.Registry
	typ sr.SchemaType
	mu  sync.Mutex
	ids map[string]int // subject + "\x00" + text → id
}

func (s *schemaIDs) id(subject, text string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := subject + "\x00" + text
	if id, ok := s.ids[key]; ok {
		return id, nil
	}
	id, _, err := s.reg.RegisterSchema(subject, sr.Schema{Schema: text, Type: s.typ})
	if err != nil {
		return 0, fmt.Errorf("cdctest: register %s: %w", subject, err)
	}
	if s.ids == nil {
		s.ids = map[string]int{}
	}
	s.ids[key] = id
	return id, nil
}

// wire prefixes payload with the Confluent header: magic byte 0 and the
// schema id, big-endian.
func wire(id int, payload []byte) []byte {
	out := make([]byte, 5, 5+len(payload))
	binary.BigEndian.PutUint32(out[1:], uint32(id))
	return append(out, payload...)
}

// Avro writes what Confluent's AvroConverter writes: the Connect schema
// turned into an Avro schema (registered under "<topic>-value" and
// "-key"), the value in Avro binary after the Confluent header.
type Avro struct {
	ids schemaIDs
	// parsed keeps each schema parsed once, by its text: parsing costs
	// about thirty times the encoding, which the demo and the bench would
	// pay per event.
	mu     sync.Mutex
	parsed map[string]*avro.Schema
}

// NewAvro returns an Avro writer registering its schemas in reg.
func NewAvro(reg *srfake.Registry) *Avro {
	return &Avro{ids: schemaIDs{reg: reg, typ: sr.TypeAvro}, parsed: map[string]*avro.Schema{}}
}

// Format is "avro".
func (*Avro) Format() string { return "avro" }

// Event writes e.
func (w *Avro) Event(t *Table, e Event) ([]byte, []byte, error) {
	value := map[string]any{
		"type": "record", "name": "Envelope", "namespace": t.Topic, "connect.name": t.Topic + ".Envelope",
		"fields": []any{
			map[string]any{"name": "before", "type": []any{"null", avroRecord(t.Topic+".Value", t.Columns)}, "default": nil},
			map[string]any{"name": "after", "type": []any{"null", t.Topic + ".Value"}, "default": nil},
			map[string]any{"name": "source", "type": map[string]any{
				"type": "record", "name": "Source", "namespace": "io.debezium.connector.postgresql",
				"connect.name": "io.debezium.connector.postgresql.Source",
				"fields": []any{
					map[string]any{"name": "connector", "type": "string"},
					map[string]any{"name": "ts_ms", "type": "long"},
					map[string]any{"name": "table", "type": "string"},
				},
			}},
			map[string]any{"name": "op", "type": "string"},
			map[string]any{"name": "ts_ms", "type": []any{"null", "long"}, "default": nil},
		},
	}
	before, err := avroValues(t.Columns, e.Before)
	if err != nil {
		return nil, nil, err
	}
	after, err := avroValues(t.Columns, e.After)
	if err != nil {
		return nil, nil, err
	}
	v, err := w.encode(t.Topic+"-value", value, map[string]any{
		"before": before, "after": after, "op": e.Op, "ts_ms": e.TsMs,
		"source": map[string]any{"connector": "postgresql", "ts_ms": e.SourceTsMs, "table": "users"},
	})
	if err != nil {
		return nil, nil, err
	}
	keyCol, _ := t.column(t.Key)
	row := e.After
	if row == nil {
		row = e.Before
	}
	kv, err := avroValues([]Column{keyCol}, Row{t.Key: row[t.Key]})
	if err != nil {
		return nil, nil, err
	}
	k, err := w.encode(t.Topic+"-key", avroRecord(t.Topic+".Key", []Column{keyCol}), kv)
	return k, v, err
}

// Heartbeat writes Debezium's heartbeat value.
func (w *Avro) Heartbeat(server string, tsMs int64) ([]byte, []byte, error) {
	const ns = "io.debezium.connector.common"
	k, err := w.encode("__debezium-heartbeat."+server+"-key", map[string]any{
		"type": "record", "name": "ServerNameKey", "namespace": ns,
		"fields": []any{map[string]any{"name": "serverName", "type": "string"}},
	}, map[string]any{"serverName": server})
	if err != nil {
		return nil, nil, err
	}
	v, err := w.encode("__debezium-heartbeat."+server+"-value", map[string]any{
		"type": "record", "name": "Heartbeat", "namespace": ns, "connect.name": ns + ".Heartbeat",
		"fields": []any{map[string]any{"name": "ts_ms", "type": "long"}},
	}, map[string]any{"ts_ms": tsMs})
	return k, v, err
}

// encode registers the schema and writes value in the wire format.
func (w *Avro) encode(subject string, schema map[string]any, value any) ([]byte, error) {
	text, err := json.Marshal(schema)
	if err != nil {
		return nil, err
	}
	s, err := w.parse(string(text))
	if err != nil {
		return nil, err
	}
	id, err := w.ids.id(subject, string(text))
	if err != nil {
		return nil, err
	}
	payload, err := s.Encode(value)
	if err != nil {
		return nil, fmt.Errorf("cdctest: avro encode: %w", err)
	}
	return wire(id, payload), nil
}

func (w *Avro) parse(text string) (*avro.Schema, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.parsed[text]; ok {
		return s, nil
	}
	s, err := avro.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("cdctest: avro schema: %w", err)
	}
	w.parsed[text] = s
	return s, nil
}

// avroRecord is AvroConverter's record for a Connect struct named name.
func avroRecord(name string, cols []Column) map[string]any {
	ns, short := "", name
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ns, short = name[:i], name[i+1:]
	}
	fields := make([]any, len(cols))
	for i, c := range cols {
		f := map[string]any{"name": c.Name, "type": avroType(c)}
		if c.Optional {
			f["type"] = []any{"null", avroType(c)}
			f["default"] = nil
		}
		fields[i] = f
	}
	return map[string]any{"type": "record", "name": short, "namespace": ns, "connect.name": name, "fields": fields}
}

// avroType is AvroConverter's type for a (non-null) Connect type.
func avroType(c Column) any {
	var t map[string]any
	switch c.Type {
	case Int16:
		t = map[string]any{"type": "int", "connect.type": "int16"}
	case Int32:
		t = map[string]any{"type": "int"}
	case Int64:
		t = map[string]any{"type": "long"}
	case Float32:
		t = map[string]any{"type": "float"}
	case Float64:
		t = map[string]any{"type": "double"}
	case Boolean:
		t = map[string]any{"type": "boolean"}
	case String:
		t = map[string]any{"type": "string"}
	case Bytes:
		t = map[string]any{"type": "bytes"}
	case Array:
		return map[string]any{"type": "array", "items": avroType(*c.Items)}
	case Struct:
		return avroRecord(c.Logical, c.Fields)
	}
	if c.Logical == "" {
		if len(t) == 1 {
			return t["type"]
		}
		return t
	}
	t["connect.version"] = 1
	t["connect.name"] = c.Logical
	switch c.Logical {
	case ConnectDate:
		t["logicalType"] = "date"
	case ConnectTime:
		t["logicalType"] = "time-millis"
	case ConnectTimestamp:
		t["logicalType"] = "timestamp-millis"
	case ConnectDecimal:
		t["type"] = "bytes"
		t["logicalType"] = "decimal"
		t["precision"] = 20
		t["scale"] = c.Scale
		t["connect.parameters"] = map[string]any{"scale": fmt.Sprint(c.Scale), "connect.decimal.precision": "20"}
	}
	return t
}

// avroValues converts a row to what the Avro library encodes.
func avroValues(cols []Column, row Row) (any, error) {
	if row == nil {
		return nil, nil
	}
	out := make(map[string]any, len(cols))
	for _, c := range cols {
		v, err := avroValue(c, row[c.Name])
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Name, err)
		}
		out[c.Name] = v
	}
	return out, nil
}

func avroValue(c Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch {
	case c.Logical == ConnectDecimal:
		return v, nil // a decimal string: the library scales it
	case c.Type == Int16 || c.Type == Int32:
		n, err := toInt64(v)
		return int32(n), err
	case c.Type == Int64:
		return toInt64(v)
	case c.Type == Float32:
		f, err := toFloat64(v)
		return float32(f), err
	case c.Type == Float64:
		return toFloat64(v)
	case c.Type == Array:
		items, _ := v.([]any)
		out := make([]any, len(items))
		for i, x := range items {
			y, err := avroValue(*c.Items, x)
			if err != nil {
				return nil, err
			}
			out[i] = y
		}
		return out, nil
	case c.Type == Struct:
		m, _ := v.(map[string]any)
		return avroValues(c.Fields, m)
	}
	return v, nil
}
