package cdctest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Writer writes events of tables in one format.
type Writer interface {
	// Format is the source.format that reads what the writer writes.
	Format() string
	// Event returns the key and value of a change event. A delete's key
	// comes from Before.
	Event(t *Table, e Event) (key, value []byte, err error)
	// Heartbeat returns a Debezium heartbeat message of server at tsMs.
	Heartbeat(server string, tsMs int64) (key, value []byte, err error)
}

// JSON writes what Kafka Connect's JsonConverter writes with
// schemas.enable=true: {"schema": …, "payload": …}.
type JSON struct{}

// Format is "debezium".
func (JSON) Format() string { return "debezium" }

// Event writes e as a wrapped envelope.
func (JSON) Event(t *Table, e Event) ([]byte, []byte, error) {
	key, err := jsonKey(t, e)
	if err != nil {
		return nil, nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"schema":{"type":"struct","name":` + strconv.Quote(t.Topic+".Envelope") + `,"optional":false,"fields":[`)
	value := jsonStruct(t.Topic+".Value", true, t.Columns)
	b.WriteString(withField(value, "before") + "," + withField(value, "after") + ",")
	b.WriteString(`{"type":"struct","name":"io.debezium.connector.postgresql.Source","optional":false,"field":"source","fields":[` +
		`{"type":"string","optional":false,"field":"connector"},{"type":"int64","optional":false,"field":"ts_ms"},` +
		`{"type":"string","optional":false,"field":"table"}]},`)
	b.WriteString(`{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}]},"payload":{`)
	for i, img := range []struct {
		name string
		row  Row
	}{{"before", e.Before}, {"after", e.After}} {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(img.name) + ":")
		if img.row == nil {
			b.WriteString("null")
			continue
		}
		if err := jsonRow(&b, t.Columns, img.row); err != nil {
			return nil, nil, err
		}
	}
	fmt.Fprintf(&b, `,"source":{"connector":"postgresql","ts_ms":%d,"table":"users"},"op":%q,"ts_ms":%d}}`,
		e.SourceTsMs, e.Op, e.TsMs)
	return key, b.Bytes(), nil
}

// Heartbeat writes Debezium's heartbeat value.
func (JSON) Heartbeat(server string, tsMs int64) ([]byte, []byte, error) {
	key := fmt.Appendf(nil, `{"schema":{"type":"struct","name":"io.debezium.connector.common.ServerNameKey","optional":false,`+
		`"fields":[{"type":"string","optional":false,"field":"serverName"}]},"payload":{"serverName":%q}}`, server)
	value := fmt.Appendf(nil, `{"schema":{"type":"struct","name":"io.debezium.connector.common.Heartbeat","optional":false,`+
		`"fields":[{"type":"int64","optional":false,"field":"ts_ms"}]},"payload":{"ts_ms":%d}}`, tsMs)
	return key, value, nil
}

func jsonKey(t *Table, e Event) ([]byte, error) {
	row := e.After
	if row == nil {
		row = e.Before
	}
	col, ok := t.column(t.Key)
	if !ok || row == nil {
		return nil, fmt.Errorf("cdctest: no key column %q or no row", t.Key)
	}
	var b bytes.Buffer
	b.WriteString(`{"schema":` + jsonStruct(t.Topic+".Key", false, []Column{col}) + `,"payload":`)
	if err := jsonRow(&b, []Column{col}, row); err != nil {
		return nil, err
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func (t *Table) column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// withField adds "field": name to a field schema object.
func withField(schema, name string) string {
	return schema[:len(schema)-1] + `,"field":` + strconv.Quote(name) + "}"
}

// jsonStruct is the Connect JSON schema of a struct of cols.
func jsonStruct(name string, optional bool, cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = withField(jsonType(c), c.Name)
	}
	return fmt.Sprintf(`{"type":"struct","name":%q,"optional":%t,"fields":[%s]}`, name, optional, strings.Join(parts, ","))
}

// jsonType is the Connect JSON schema of a column's type.
func jsonType(c Column) string {
	typ := string(c.Type)
	if c.Logical == ConnectDecimal {
		typ = "bytes"
	}
	s := fmt.Sprintf(`{"type":%q,"optional":%t`, typ, c.Optional)
	if c.Logical != "" {
		s += fmt.Sprintf(`,"name":%q,"version":1`, c.Logical)
	}
	if c.Logical == ConnectDecimal {
		s += fmt.Sprintf(`,"parameters":{"scale":"%d"}`, c.Scale)
	}
	switch c.Type {
	case Array:
		s += `,"items":` + jsonType(*c.Items)
	case Struct:
		parts := make([]string, len(c.Fields))
		for i, f := range c.Fields {
			parts[i] = withField(jsonType(f), f.Name)
		}
		s += `,"fields":[` + strings.Join(parts, ",") + "]"
	}
	return s + "}"
}

func jsonRow(b *bytes.Buffer, cols []Column, row Row) error {
	b.WriteByte('{')
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(c.Name) + ":")
		if err := jsonValue(b, c, row[c.Name]); err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	b.WriteByte('}')
	return nil
}

func jsonValue(b *bytes.Buffer, c Column, v any) error {
	if v == nil {
		b.WriteString("null")
		return nil
	}
	if c.Logical == ConnectDecimal {
		unscaled, err := decimalBytes(v, c.Scale)
		if err != nil {
			return err
		}
		b.WriteString(strconv.Quote(base64.StdEncoding.EncodeToString(unscaled)))
		return nil
	}
	switch c.Type {
	case Int16, Int32, Int64:
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		b.WriteString(strconv.FormatInt(n, 10))
	case Float32, Float64:
		f, err := toFloat64(v)
		if err != nil {
			return err
		}
		text, err := jacksonFloat(f, c.Type)
		if err != nil {
			return err
		}
		b.WriteString(text)
	case Bytes:
		raw, ok := v.([]byte)
		if !ok {
			return fmt.Errorf("want []byte, got %T", v)
		}
		b.WriteString(strconv.Quote(base64.StdEncoding.EncodeToString(raw)))
	case Array:
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("want []any, got %T", v)
		}
		b.WriteByte('[')
		for i, x := range items {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := jsonValue(b, *c.Items, x); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("want map[string]any, got %T", v)
		}
		return jsonRow(b, c.Fields, m)
	default:
		out, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Write(out)
	}
	return nil
}

// jacksonFloat spells a float as Java's Double.toString (or Float.toString)
// does, for the values this package writes: zero, and magnitudes from 1e-3
// to 1e7, where Java writes plain decimals with at least one fraction
// digit. Other values are refused rather than spelled wrong.
func jacksonFloat(f float64, t Type) (string, error) {
	bits := 64
	if t == Float32 {
		bits = 32
	}
	if a := math.Abs(f); f != 0 && (a < 1e-3 || a >= 1e7) {
		return "", fmt.Errorf("cdctest writes doubles from 1e-3 to 1e7 only, not %v", f)
	}
	s := strconv.FormatFloat(f, 'f', -1, bits)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s, nil
}
