package cdc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// protoDecoder reads Debezium change events written by Confluent's
// ProtobufConverter: the Confluent wire format (magic byte, schema id, then
// the list of message indexes that picks the message type in the schema's
// file) around a Protobuf message. The registry holds the schema as .proto
// text, compiled here once per id; messages are read as dynamic messages.
type protoDecoder struct {
	reg    *Registry
	keep   keepSet
	before keepSet // fields of an update's before image to read (WithBefore)
	plans  planCache[*protoPlan]
}

// protoPlan is a compiled schema and the plans of its message types that
// messages have used.
type protoPlan struct {
	file protoreflect.FileDescriptor
	keep keepSet
	msgs sync.Map // message index path → *protoMsgPlan
}

// protoMsgPlan is how to read one message type.
type protoMsgPlan struct {
	kind recordKind
	full *envelopeFields
	// lean and leanBefore are the envelope type cut down to what is read,
	// without and with the before image (see protolean.go); nil when the
	// full type serves.
	lean, leanBefore *envelopeFields
	logical          map[string]string
}

// maxMessageIndexes bounds the index list of the wire format: one index per
// level of message nesting.
const maxMessageIndexes = 32

func (d *protoDecoder) decode(ctx context.Context, value []byte) (change.Row, error) {
	id, payload, err := confluentID(value)
	if err != nil {
		return change.Row{}, err
	}
	path, payload, err := messageIndexes(payload)
	if err != nil {
		return change.Row{}, err
	}
	p, err := d.plans.get(id, func() (*protoPlan, error) { return d.compile(ctx, id) })
	if err != nil {
		return change.Row{}, err
	}
	mp, err := p.message(path)
	if err != nil {
		return change.Row{}, failf("schema id %d: %s", id, err.Error())
	}
	f := mp.full
	switch {
	case d.before != nil && mp.leanBefore != nil:
		// An email sync reads the before image of updates too: decode
		// every event once, with it.
		f = mp.leanBefore
	case d.before == nil && mp.lean != nil:
		f = mp.lean
	}
	m, err := unmarshalProto(f.md, payload)
	if err != nil {
		return change.Row{}, err
	}
	var e binEnvelope
	f.readMeta(m, &e)
	if mp.kind != kindEnvelope {
		return skipOrFail(mp.kind, &e)
	}
	img := f.after
	if needsBefore(e.op) {
		if f == mp.lean {
			// The lean type has no before image: read the event again
			// with one. Deletes are few.
			if f = mp.leanBefore; f == nil {
				f = mp.full
			}
			if m, err = unmarshalProto(f.md, payload); err != nil {
				return change.Row{}, err
			}
		}
		img = f.before
	}
	if img != nil && m.Has(img) {
		if e.row, err = protoRow(m.Get(img).Message(), p.keep); err != nil {
			return change.Row{}, err
		}
	}
	if wantsBefore(e.op, d.before) && f.before != nil && m.Has(f.before) {
		if e.before, err = protoRow(m.Get(f.before).Message(), d.before); err != nil {
			return change.Row{}, err
		}
	}
	return envelopeRow(&e, mp.logical)
}

// unmarshalProto reads payload as a message of type md.
func unmarshalProto(md protoreflect.MessageDescriptor, payload []byte) (*dynamicpb.Message, error) {
	m := dynamicpb.NewMessage(md)
	// AllowPartial skips the check for proto2 required fields: nothing
	// here needs it, and it walks the whole message again.
	opts := proto.UnmarshalOptions{DiscardUnknown: true, AllowPartial: true, RecursionLimit: MaxDepth}
	if err := opts.Unmarshal(payload, m); err != nil {
		return nil, failf("invalid Protobuf data: %s", err.Error())
	}
	return m, nil
}

// messageIndexes reads the index list after the schema id. The list [0],
// the first message of the file and by far the most common, is one zero
// byte.
func messageIndexes(b []byte) ([]int, []byte, error) {
	if len(b) > 0 && b[0] == 0 {
		return nil, b[1:], nil
	}
	var h sr.ConfluentHeader
	idx, rest, err := h.DecodeIndex(b, maxMessageIndexes)
	if err != nil || len(idx) == 0 {
		return nil, nil, failf("not in the Confluent Protobuf wire format: bad message index list")
	}
	return idx, rest, nil
}

// readMeta reads op, ts_ms and source.ts_ms of m, a message of mp.md.
func (mp *envelopeFields) readMeta(m protoreflect.Message, e *binEnvelope) {
	if mp.op != nil {
		if v, ok := scalarOf(m, mp.op); ok {
			if s, ok := v.Interface().(string); ok {
				e.op = s
			}
		}
	}
	if mp.ts != nil {
		e.tsMs, e.hasTsMs = int64Of(m, mp.ts)
	}
	if mp.source != nil && mp.sourceTs != nil && m.Has(mp.source) {
		e.sourceTs, e.hasSourceTs = int64Of(m.Get(mp.source).Message(), mp.sourceTs)
	}
}

// scalarOf reads a scalar field, unwrapping a google.protobuf wrapper; ok
// is false when the field is not set.
func scalarOf(m protoreflect.Message, fd protoreflect.FieldDescriptor) (protoreflect.Value, bool) {
	if !m.Has(fd) {
		return protoreflect.Value{}, false
	}
	v := m.Get(fd)
	if fd.Kind() == protoreflect.MessageKind {
		if !isWrapper(fd.Message()) {
			return protoreflect.Value{}, false
		}
		inner := v.Message()
		return inner.Get(fd.Message().Fields().ByNumber(1)), true
	}
	return v, true
}

func int64Of(m protoreflect.Message, fd protoreflect.FieldDescriptor) (int64, bool) {
	v, ok := scalarOf(m, fd)
	if !ok {
		return 0, false
	}
	switch x := v.Interface().(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	}
	return 0, false
}

// compile fetches the schema of id and the schemas it references, and
// compiles them.
func (d *protoDecoder) compile(ctx context.Context, id int) (*protoPlan, error) {
	s, err := d.reg.schemaByID(ctx, id)
	if err != nil {
		return nil, schemaFailure(id, err)
	}
	if s.Type != sr.TypeProtobuf {
		return nil, failf("schema id %d is a %s schema, not Protobuf", id, s.Type)
	}
	files := knownProtoImports()
	main := fmt.Sprintf("attrsync/schema-%d.proto", id)
	files[main] = s.Schema
	if err := d.addReferences(ctx, s.References, files, 0); err != nil {
		return nil, schemaFailure(id, err)
	}
	c := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			Accessor: protocompile.SourceAccessorFromMap(files),
		}),
	}
	compiled, err := c.Compile(ctx, main)
	if err != nil {
		return nil, failf("schema id %d: invalid Protobuf schema: %s", id, err.Error())
	}
	return &protoPlan{file: compiled[0], keep: d.keep}, nil
}

// maxReferenceDepth bounds how deep schema references may chain.
const maxReferenceDepth = 16

// addReferences fetches referenced schemas into files, by import path.
func (d *protoDecoder) addReferences(ctx context.Context, refs []sr.SchemaReference, files map[string]string, depth int) error {
	if depth > maxReferenceDepth && len(refs) > 0 {
		return fmt.Errorf("schema references nest deeper than %d", maxReferenceDepth)
	}
	for _, ref := range refs {
		if _, seen := files[ref.Name]; seen && !isKnownImport(ref.Name) {
			continue
		}
		s, err := d.reg.schemaByVersion(ctx, ref.Subject, ref.Version)
		if err != nil {
			return err
		}
		files[ref.Name] = s.Schema
		if err := d.addReferences(ctx, s.References, files, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func isKnownImport(name string) bool {
	_, ok := knownProtoImports()[name]
	return ok
}

// message returns the plan of the message type at the index path (nil:
// [0]), building it on first use.
func (p *protoPlan) message(path []int) (*protoMsgPlan, error) {
	key := indexKey(path)
	if mp, ok := p.msgs.Load(key); ok {
		return mp.(*protoMsgPlan), nil
	}
	if len(path) == 0 {
		path = []int{0}
	}
	msgs := p.file.Messages()
	var md protoreflect.MessageDescriptor
	for _, i := range path {
		if i < 0 || i >= msgs.Len() {
			return nil, fmt.Errorf("no message at index path %v", path)
		}
		md = msgs.Get(i)
		msgs = md.Messages()
	}
	mp := newProtoMsgPlan(md, p.keep)
	actual, _ := p.msgs.LoadOrStore(key, mp)
	return actual.(*protoMsgPlan), nil
}

func indexKey(path []int) string {
	if len(path) == 0 || (len(path) == 1 && path[0] == 0) {
		return "0"
	}
	parts := make([]string, len(path))
	for i, n := range path {
		parts[i] = strconv.Itoa(n)
	}
	return strings.Join(parts, ".")
}

func newProtoMsgPlan(md protoreflect.MessageDescriptor, keep keepSet) *protoMsgPlan {
	fields := md.Fields()
	has := func(name string) bool { return fields.ByName(protoreflect.Name(name)) != nil }
	mp := &protoMsgPlan{
		kind: classify(string(md.FullName()), has, fields.Len()),
		full: newEnvelopeFields(md),
	}
	if mp.full.row != nil {
		mp.logical = protoLogicalTypes(mp.full.row, keep)
	}
	if mp.kind == kindEnvelope {
		mp.lean = leanEnvelope(mp.full, keep, false)
		mp.leanBefore = leanEnvelope(mp.full, keep, true)
	}
	return mp
}
