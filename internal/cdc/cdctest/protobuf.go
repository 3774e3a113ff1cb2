package cdctest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Protobuf writes what Confluent's ProtobufConverter writes with
// optional.for.nullables=true: the Connect schema turned into a proto3
// file (structs as nested messages, Connect's Date, Time, Timestamp and
// Decimal as google.type.Date, google.type.TimeOfDay,
// google.protobuf.Timestamp and confluent.type.Decimal), registered as
// text, and the message after the Confluent header and the message index
// list [0].
type Protobuf struct {
	ids   schemaIDs
	mu    sync.Mutex
	descs map[string]protoreflect.MessageDescriptor // by schema text
}

// NewProtobuf returns a Protobuf writer registering its schemas in reg.
func NewProtobuf(reg *srfake.Registry) *Protobuf {
	return &Protobuf{ids: schemaIDs{reg: reg, typ: sr.TypeProtobuf}, descs: map[string]protoreflect.MessageDescriptor{}}
}

// Format is "protobuf".
func (*Protobuf) Format() string { return "protobuf" }

// Event writes e.
func (w *Protobuf) Event(t *Table, e Event) ([]byte, []byte, error) {
	var body strings.Builder
	imports := map[string]bool{}
	body.WriteString("message Envelope {\n  Value before = 1;\n  Value after = 2;\n  Source source = 3;\n" +
		"  string op = 4;\n  optional int64 ts_ms = 5;\n\n")
	protoMessage(&body, "Value", t.Columns, imports, "  ")
	body.WriteString("  message Source {\n    string connector = 1;\n    int64 ts_ms = 2;\n    string table = 3;\n  }\n}\n")
	value, err := w.encode(t.Topic+"-value", protoFile(t.Topic, imports, body.String()), func(m *dynamicpb.Message) error {
		f := m.Descriptor().Fields()
		for _, img := range []struct {
			name string
			row  Row
		}{{"before", e.Before}, {"after", e.After}} {
			if img.row == nil {
				continue
			}
			fd := f.ByName(protoreflect.Name(img.name))
			sub := m.Mutable(fd).Message()
			if err := setFields(sub, t.Columns, img.row); err != nil {
				return err
			}
		}
		src := m.Mutable(f.ByName("source")).Message()
		sf := src.Descriptor().Fields()
		src.Set(sf.ByName("connector"), protoreflect.ValueOfString("postgresql"))
		src.Set(sf.ByName("ts_ms"), protoreflect.ValueOfInt64(e.SourceTsMs))
		src.Set(sf.ByName("table"), protoreflect.ValueOfString("users"))
		m.Set(f.ByName("op"), protoreflect.ValueOfString(e.Op))
		m.Set(f.ByName("ts_ms"), protoreflect.ValueOfInt64(e.TsMs))
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	keyCol, _ := t.column(t.Key)
	row := e.After
	if row == nil {
		row = e.Before
	}
	var keyBody strings.Builder
	protoMessage(&keyBody, "Key", []Column{keyCol}, imports, "")
	key, err := w.encode(t.Topic+"-key", protoFile(t.Topic, imports, keyBody.String()), func(m *dynamicpb.Message) error {
		return setFields(m, []Column{keyCol}, Row{t.Key: row[t.Key]})
	})
	return key, value, err
}

// Heartbeat writes Debezium's heartbeat value.
func (w *Protobuf) Heartbeat(server string, tsMs int64) ([]byte, []byte, error) {
	const pkg = "io.debezium.connector.common"
	key, err := w.encode("__debezium-heartbeat."+server+"-key", protoFile(pkg, nil, "message ServerNameKey {\n  string serverName = 1;\n}\n"),
		func(m *dynamicpb.Message) error {
			m.Set(m.Descriptor().Fields().ByName("serverName"), protoreflect.ValueOfString(server))
			return nil
		})
	if err != nil {
		return nil, nil, err
	}
	value, err := w.encode("__debezium-heartbeat."+server+"-value", protoFile(pkg, nil, "message Heartbeat {\n  int64 ts_ms = 1;\n}\n"),
		func(m *dynamicpb.Message) error {
			m.Set(m.Descriptor().Fields().ByName("ts_ms"), protoreflect.ValueOfInt64(tsMs))
			return nil
		})
	return key, value, err
}

func protoFile(pkg string, imports map[string]bool, body string) string {
	var b strings.Builder
	b.WriteString("syntax = \"proto3\";\npackage " + pkg + ";\n\n")
	names := make([]string, 0, len(imports))
	for name := range imports {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b.WriteString("import \"" + name + "\";\n")
	}
	b.WriteString("\n" + body)
	return b.String()
}

// protoMessage writes message name with a field per column, numbered from 1
// in column order, as ProtobufConverter numbers them.
func protoMessage(b *strings.Builder, name string, cols []Column, imports map[string]bool, indent string) {
	b.WriteString(indent + "message " + name + " {\n")
	for i, c := range cols {
		label := ""
		switch {
		case c.Type == Array:
			label = "repeated "
		case c.Optional && protoScalar(c):
			label = "optional "
		}
		fmt.Fprintf(b, "%s  %s%s %s = %d;\n", indent, label, protoType(c, imports), c.Name, i+1)
	}
	for _, c := range cols {
		if c.Type == Struct {
			protoMessage(b, structName(c), c.Fields, imports, indent+"  ")
		}
	}
	b.WriteString(indent + "}\n")
}

func structName(c Column) string { return c.Logical[strings.LastIndexByte(c.Logical, '.')+1:] }

// protoScalar says whether a column is a proto3 scalar (a message field
// has presence without optional).
func protoScalar(c Column) bool {
	switch c.Logical {
	case ConnectDate, ConnectTime, ConnectTimestamp, ConnectDecimal:
		return false
	}
	return c.Type != Struct
}

func protoType(c Column, imports map[string]bool) string {
	switch c.Logical {
	case ConnectDate:
		imports["google/type/date.proto"] = true
		return "google.type.Date"
	case ConnectTime:
		imports["google/type/timeofday.proto"] = true
		return "google.type.TimeOfDay"
	case ConnectTimestamp:
		imports["google/protobuf/timestamp.proto"] = true
		return "google.protobuf.Timestamp"
	case ConnectDecimal:
		imports["confluent/type/decimal.proto"] = true
		return "confluent.type.Decimal"
	}
	switch c.Type {
	case Int16, Int32:
		return "int32"
	case Int64:
		return "int64"
	case Float32:
		return "float"
	case Float64:
		return "double"
	case Boolean:
		return "bool"
	case String:
		return "string"
	case Bytes:
		return "bytes"
	case Array:
		return protoType(*c.Items, imports)
	case Struct:
		return structName(c)
	}
	return "string"
}

// encode registers the schema, builds the message with set and writes it.
func (w *Protobuf) encode(subject, text string, set func(*dynamicpb.Message) error) ([]byte, error) {
	md, err := w.descriptor(text)
	if err != nil {
		return nil, err
	}
	id, err := w.ids.id(subject, text)
	if err != nil {
		return nil, err
	}
	m := dynamicpb.NewMessage(md)
	if err := set(m); err != nil {
		return nil, err
	}
	payload, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	// The message index list [0] is written as a single 0.
	return append(wire(id, nil), append([]byte{0}, payload...)...), nil
}

func (w *Protobuf) descriptor(text string) (protoreflect.MessageDescriptor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if md, ok := w.descs[text]; ok {
		return md, nil
	}
	files := map[string]string{"schema.proto": text}
	for name, src := range typeFiles() {
		files[name] = src
	}
	c := protocompile.Compiler{Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(files),
	})}
	compiled, err := c.Compile(context.Background(), "schema.proto")
	if err != nil {
		return nil, fmt.Errorf("cdctest: proto schema: %w", err)
	}
	md := compiled[0].Messages().Get(0)
	w.descs[text] = md
	return md, nil
}

// typeFiles are the google.type and Confluent files ProtobufConverter
// imports, which its serializer does not register.
func typeFiles() map[string]string {
	return map[string]string{
		"google/type/date.proto":       "syntax = \"proto3\";\npackage google.type;\nmessage Date { int32 year = 1; int32 month = 2; int32 day = 3; }\n",
		"google/type/timeofday.proto":  "syntax = \"proto3\";\npackage google.type;\nmessage TimeOfDay { int32 hours = 1; int32 minutes = 2; int32 seconds = 3; int32 nanos = 4; }\n",
		"confluent/type/decimal.proto": "syntax = \"proto3\";\npackage confluent.type;\nmessage Decimal { bytes value = 1; uint32 precision = 2; int32 scale = 3; }\n",
	}
}

// setFields sets the fields of m from row; nulls stay unset.
func setFields(m protoreflect.Message, cols []Column, row Row) error {
	f := m.Descriptor().Fields()
	for _, c := range cols {
		v := row[c.Name]
		if v == nil {
			continue
		}
		fd := f.ByName(protoreflect.Name(c.Name))
		if c.Type == Array {
			list := m.Mutable(fd).List()
			items, _ := v.([]any)
			for _, x := range items {
				pv, err := protoValue(m, fd, *c.Items, x)
				if err != nil {
					return fmt.Errorf("column %s: %w", c.Name, err)
				}
				list.Append(pv)
			}
			continue
		}
		pv, err := protoValue(m, fd, c, v)
		if err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
		m.Set(fd, pv)
	}
	return nil
}

// protoValue converts one value of column c for field fd of m.
func protoValue(m protoreflect.Message, fd protoreflect.FieldDescriptor, c Column, v any) (protoreflect.Value, error) {
	newMsg := func() protoreflect.Message { return m.NewField(fd).Message() }
	setInt := func(msg protoreflect.Message, name string, n int64) {
		sub := msg.Descriptor().Fields().ByName(protoreflect.Name(name))
		if sub.Kind() == protoreflect.Int64Kind {
			msg.Set(sub, protoreflect.ValueOfInt64(n))
		} else {
			msg.Set(sub, protoreflect.ValueOfInt32(int32(n)))
		}
	}
	switch c.Logical {
	case ConnectDate:
		days, err := toInt64(v)
		d := time.Unix(days*86400, 0).UTC()
		msg := newMsg()
		setInt(msg, "year", int64(d.Year()))
		setInt(msg, "month", int64(d.Month()))
		setInt(msg, "day", int64(d.Day()))
		return protoreflect.ValueOfMessage(msg), err
	case ConnectTime:
		ms, err := toInt64(v)
		msg := newMsg()
		setInt(msg, "hours", ms/3_600_000)
		setInt(msg, "minutes", ms/60_000%60)
		setInt(msg, "seconds", ms/1000%60)
		setInt(msg, "nanos", ms%1000*1_000_000)
		return protoreflect.ValueOfMessage(msg), err
	case ConnectTimestamp:
		ms, err := toInt64(v)
		msg := newMsg()
		sec := ms / 1000
		if ms%1000 < 0 {
			sec--
		}
		setInt(msg, "seconds", sec)
		setInt(msg, "nanos", (ms-sec*1000)*1_000_000)
		return protoreflect.ValueOfMessage(msg), err
	case ConnectDecimal:
		unscaled, err := decimalBytes(v, c.Scale)
		msg := newMsg()
		msg.Set(msg.Descriptor().Fields().ByName("value"), protoreflect.ValueOfBytes(unscaled))
		msg.Set(msg.Descriptor().Fields().ByName("precision"), protoreflect.ValueOfUint32(20))
		setInt(msg, "scale", int64(c.Scale))
		return protoreflect.ValueOfMessage(msg), err
	}
	switch c.Type {
	case Int16, Int32:
		n, err := toInt64(v)
		return protoreflect.ValueOfInt32(int32(n)), err
	case Int64:
		n, err := toInt64(v)
		return protoreflect.ValueOfInt64(n), err
	case Float32:
		f, err := toFloat64(v)
		return protoreflect.ValueOfFloat32(float32(f)), err
	case Float64:
		f, err := toFloat64(v)
		return protoreflect.ValueOfFloat64(f), err
	case Struct:
		msg := newMsg()
		sub, _ := v.(map[string]any)
		return protoreflect.ValueOfMessage(msg), setFields(msg, c.Fields, sub)
	}
	return protoreflect.ValueOf(v), nil
}
