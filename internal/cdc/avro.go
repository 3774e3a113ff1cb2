package cdc

import (
	"context"
	"slices"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/twmb/avro"
	"github.com/twmb/avro/atype"
	"github.com/twmb/franz-go/pkg/sr"
)

// avroDecoder reads Debezium change events written by Confluent's
// AvroConverter: the Confluent wire format around Avro binary data, whose
// writer schema is in the registry under the id in the header.
type avroDecoder struct {
	reg    *Registry
	keep   keepSet
	before keepSet // fields of an update's before image to read (WithBefore)
	plans  planCache[*avroPlan]
}

// avroPlan is what one writer schema compiles to. Decoding goes through
// reader schemas that hold only what a row needs, resolved against the
// writer: Avro schema resolution then steps over the other fields (other
// columns, the source block, the before image of an update) without
// building them.
type avroPlan struct {
	kind recordKind
	// upsert reads op, ts_ms, source.ts_ms and the after image; delete
	// the same with the before image instead. delete is nil when the
	// record has no before field.
	upsert, delete *avro.Schema
	// update reads what upsert does plus the before image's fields named
	// by WithBefore; nil when none are, or the record has no before field.
	update  *avro.Schema
	row     *avroConv
	logical map[string]string
}

func (d *avroDecoder) decode(ctx context.Context, value []byte) (change.Row, error) {
	id, payload, err := confluentID(value)
	if err != nil {
		return change.Row{}, err
	}
	p, err := d.plans.get(id, func() (*avroPlan, error) { return d.compile(ctx, id) })
	if err != nil {
		return change.Row{}, err
	}
	m, err := readAvro(p.upsert, payload)
	if err != nil {
		return change.Row{}, err
	}
	var e binEnvelope
	readEnvelopeMeta(m, &e)
	if p.kind != kindEnvelope {
		return skipOrFail(p.kind, &e)
	}
	rowField := "after"
	if wantsBefore(e.op, d.before) && p.update != nil {
		if m, err = readAvro(p.update, payload); err != nil {
			return change.Row{}, err
		}
		if e.before, err = avroRow(m["before"], p.row); err != nil {
			return change.Row{}, err
		}
		e.before = d.before.trim(e.before)
		if after, ok := m["after"].(map[string]any); ok {
			d.keep.trim(after)
		}
	}
	if needsBefore(e.op) && p.delete != nil {
		rowField = "before"
		if m, err = readAvro(p.delete, payload); err != nil {
			return change.Row{}, err
		}
	} else if needsBefore(e.op) {
		rowField = ""
	}
	if rowField != "" {
		if e.row, err = avroRow(m[rowField], p.row); err != nil {
			return change.Row{}, err
		}
	}
	return envelopeRow(&e, p.logical)
}

// readAvro decodes one whole record; trailing bytes are malformed input.
func readAvro(s *avro.Schema, payload []byte) (map[string]any, error) {
	var v any
	rest, err := s.Decode(payload, &v)
	if err != nil {
		return nil, failf("invalid Avro data: %s", err.Error())
	}
	if len(rest) > 0 {
		return nil, failf("invalid Avro data: %d bytes after the record", len(rest))
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, failf("invalid Avro data: not a record")
	}
	return m, nil
}

// readEnvelopeMeta reads op, ts_ms and source.ts_ms from a decoded record.
func readEnvelopeMeta(m map[string]any, e *binEnvelope) {
	e.op, _ = m["op"].(string)
	e.tsMs, e.hasTsMs = avroLong(m["ts_ms"])
	if src, ok := m["source"].(map[string]any); ok {
		e.sourceTs, e.hasSourceTs = avroLong(src["ts_ms"])
	}
}

func avroLong(v any) (int64, bool) {
	switch t := v.(type) {
	case int64:
		return t, true
	case int32:
		return int64(t), true
	}
	return 0, false
}

// avroRow converts the decoded row record; nil stays nil (a null image).
func avroRow(v any, conv *avroConv) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, failf("the row is not an Avro record")
	}
	if _, err := conv.convert(m, 0); err != nil {
		return nil, err
	}
	return m, nil
}

// compile fetches the writer schema of id and builds its plan.
func (d *avroDecoder) compile(ctx context.Context, id int) (*avroPlan, error) {
	s, err := d.reg.schemaByID(ctx, id)
	if err != nil {
		return nil, schemaFailure(id, err)
	}
	if s.Type != sr.TypeAvro {
		return nil, failf("schema id %d is a %s schema, not Avro", id, s.Type)
	}
	if len(s.References) > 0 {
		return nil, failf("schema id %d: Avro schema references are not supported", id)
	}
	opts := rawLogicalTypes()
	writer, err := avro.Parse(s.Schema, opts...)
	if err != nil {
		return nil, failf("schema id %d: invalid Avro schema: %s", id, err.Error())
	}
	root := writer.Root().ExpandReferences()
	if root.Type != atype.Record {
		return nil, failf("schema id %d: the value schema is a %s, not a record", id, root.Type)
	}
	p := &avroPlan{kind: classifyAvro(root)}
	resolve := func(rows ...projection) (*avro.Schema, error) {
		reader, err := projectAvro(root, rows...).Schema(opts...)
		if err != nil {
			return nil, err
		}
		return avro.Resolve(writer, reader)
	}
	if p.upsert, err = resolve(projection{"after", d.keep}); err != nil {
		return nil, failf("schema id %d: %s", id, err.Error())
	}
	if p.kind != kindEnvelope {
		return p, nil
	}
	if avroField(root, "before") != nil {
		if p.delete, err = resolve(projection{"before", d.keep}); err != nil {
			return nil, failf("schema id %d: %s", id, err.Error())
		}
		if d.before != nil {
			// Both images are one named record type, which a reader
			// schema may define only once: both keep the union of the
			// columns, and decode trims each to its own.
			both := d.keep.union(d.before)
			if p.update, err = resolve(projection{"after", both}, projection{"before", both}); err != nil {
				return nil, failf("schema id %d: %s", id, err.Error())
			}
		}
	}
	row := avroField(root, "after")
	if row == nil {
		row = avroField(root, "before")
	}
	if row != nil {
		t := nonNull(&row.Type)
		p.row = newAvroConv(t)
		p.logical = avroLogicalTypes(t, d.keep)
	}
	return p, nil
}

// rawLogicalTypes makes the Avro library hand out the numbers under every
// logical type instead of time.Time or *big.Rat: the rows hold what the
// JSON converter writes (days, epoch counts, the decimal's digits), and the
// mapping converts them by the type's name.
func rawLogicalTypes() []avro.SchemaOpt {
	names := []string{
		atype.Date, atype.TimeMillis, atype.TimeMicros,
		atype.TimestampMillis, atype.TimestampMicros, atype.TimestampNanos,
		atype.LocalTimestampMillis, atype.LocalTimestampMicros, atype.LocalTimestampNanos,
		atype.Decimal, atype.BigDecimal, atype.UUID, atype.Duration,
	}
	opts := make([]avro.SchemaOpt, len(names))
	for i, n := range names {
		opts[i] = avro.CustomType{LogicalType: n}
	}
	return opts
}

func classifyAvro(root *avro.SchemaNode) recordKind {
	name := fullName(root.Namespace, root.Name)
	if cn, ok := root.Props["connect.name"].(string); ok {
		name = cn
	}
	has := func(f string) bool { return avroField(root, f) != nil }
	return classify(name, has, len(root.Fields))
}

// avroField returns the record's field called name, or nil.
func avroField(rec *avro.SchemaNode, name string) *avro.SchemaField {
	for i := range rec.Fields {
		if rec.Fields[i].Name == name {
			return &rec.Fields[i]
		}
	}
	return nil
}

// nonNull is the type a nullable union ["null", T] wraps, or n itself.
func nonNull(n *avro.SchemaNode) *avro.SchemaNode {
	if n.Type != atype.Union {
		return n
	}
	var only *avro.SchemaNode
	for i := range n.Branches {
		if n.Branches[i].Type == atype.Null {
			continue
		}
		if only != nil {
			return n // a real union: no single type
		}
		only = &n.Branches[i]
	}
	if only == nil {
		return n
	}
	return only
}

// projection is a row image to read and the columns to keep of it.
type projection struct {
	field string // "after" or "before"
	keep  keepSet
}

// projectAvro returns a reader schema of the envelope (or other record)
// holding op, ts_ms, source.ts_ms and, each projected to its kept columns,
// the row images rows name. The writer's tree is not modified.
func projectAvro(root *avro.SchemaNode, rows ...projection) *avro.SchemaNode {
	out := *root
	out.Fields = nil
	for _, f := range root.Fields {
		switch f.Name {
		case "op", "ts_ms":
		case "source":
			src := nonNull(&f.Type)
			if src.Type != atype.Record || avroField(src, "ts_ms") == nil {
				continue
			}
			f.Type = withFields(&f.Type, src, func(name string) bool { return name == "ts_ms" })
		default:
			i := slices.IndexFunc(rows, func(p projection) bool { return p.field == f.Name })
			if i < 0 {
				continue
			}
			if rec := nonNull(&f.Type); rec.Type == atype.Record {
				f.Type = withFields(&f.Type, rec, rows[i].keep.keeps)
			}
		}
		out.Fields = append(out.Fields, f)
	}
	return &out
}

// withFields copies t, a record or a union holding the record rec, with
// only the fields of rec that keep accepts.
func withFields(t, rec *avro.SchemaNode, keep func(string) bool) avro.SchemaNode {
	cut := *rec
	cut.Fields = nil
	for _, f := range rec.Fields {
		if keep(f.Name) {
			cut.Fields = append(cut.Fields, f)
		}
	}
	if t == rec {
		return cut
	}
	u := *t
	u.Branches = make([]avro.SchemaNode, len(t.Branches))
	for i := range t.Branches {
		if &t.Branches[i] == rec {
			u.Branches[i] = cut
		} else {
			u.Branches[i] = t.Branches[i]
		}
	}
	return u
}

// avroLogicalName names, for a schema that has no connect.name, the Kafka
// Connect or Debezium type whose meaning an Avro logical type has, so the
// mapping reads it the same way.
func avroLogicalName(logical string) string {
	switch logical {
	case atype.Date:
		return "org.apache.kafka.connect.data.Date"
	case atype.TimeMillis:
		return "org.apache.kafka.connect.data.Time"
	case atype.TimeMicros:
		return "io.debezium.time.MicroTime"
	case atype.TimestampMillis:
		return "org.apache.kafka.connect.data.Timestamp"
	case atype.LocalTimestampMillis:
		return "io.debezium.time.Timestamp"
	case atype.TimestampMicros, atype.LocalTimestampMicros:
		return "io.debezium.time.MicroTimestamp"
	case atype.TimestampNanos, atype.LocalTimestampNanos:
		return "io.debezium.time.NanoTimestamp"
	case atype.Decimal:
		return connectDecimal
	}
	return ""
}

// typeName is the Kafka Connect schema name of a field type: AvroConverter
// keeps it as the connect.name property.
func typeName(t *avro.SchemaNode) string {
	if cn, ok := t.Props["connect.name"].(string); ok {
		return cn
	}
	return avroLogicalName(t.LogicalType)
}

// avroLogicalTypes returns the type names of the kept fields of rec, as
// the JSON decoder reads them from the JsonConverter schema; nil if none.
func avroLogicalTypes(rec *avro.SchemaNode, keep keepSet) map[string]string {
	if rec.Type != atype.Record {
		return nil
	}
	var out map[string]string
	for i := range rec.Fields {
		f := &rec.Fields[i]
		name := typeName(nonNull(&f.Type))
		if name == "" || !keep.keeps(f.Name) {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[f.Name] = name
	}
	return out
}
