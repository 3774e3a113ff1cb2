package cdc

import (
	"slices"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

// A Protobuf message is read into a dynamic message, which builds every
// field it knows: with the schema as registered, that is the whole before
// image, every string of the source block and every column, mapped or not,
// each a map entry and most an allocation. A lean descriptor is the same
// schema cut down to what the decoder reads: the envelope's op, ts_ms,
// source (only its ts_ms) and after (only the kept columns), with before
// added only for the events that need it (deletes), which are read a
// second time. Everything cut becomes an unknown field, which the
// unmarshaller steps over, checking only its framing: unmapped columns are
// then checked for structure only, as the JSON decoders check what they
// skip. Field numbers are unchanged, so the bytes mean the same.

// envelopeFields are the fields of an envelope message type that the
// decoder reads, all of that one descriptor.
type envelopeFields struct {
	md                       protoreflect.MessageDescriptor
	op, ts, source, sourceTs protoreflect.FieldDescriptor
	after, before            protoreflect.FieldDescriptor
	row                      protoreflect.MessageDescriptor // after's (or before's) type
}

func newEnvelopeFields(md protoreflect.MessageDescriptor) *envelopeFields {
	fields := md.Fields()
	f := &envelopeFields{
		md:     md,
		op:     fields.ByName("op"),
		ts:     fields.ByName("ts_ms"),
		source: fields.ByName("source"),
		after:  fields.ByName("after"),
		before: fields.ByName("before"),
	}
	if f.source != nil && f.source.Kind() == protoreflect.MessageKind {
		f.sourceTs = f.source.Message().Fields().ByName("ts_ms")
	} else {
		f.source = nil
	}
	for _, img := range []*protoreflect.FieldDescriptor{&f.after, &f.before} {
		if *img != nil && ((*img).Kind() != protoreflect.MessageKind || (*img).IsList() || (*img).IsMap()) {
			*img = nil // not a row image: read as absent
		}
	}
	switch {
	case f.after != nil:
		f.row = f.after.Message()
	case f.before != nil:
		f.row = f.before.Message()
	}
	return f
}

// leanEnvelope returns env's message type cut down to what the decoder
// reads, with or without the before image, or nil when it cannot be built
// (a schema laid out in a way this does not handle), in which case the
// full type serves.
func leanEnvelope(env *envelopeFields, keep keepSet, withBefore bool) *envelopeFields {
	file := env.md.ParentFile()
	fdp := protodesc.ToFileDescriptorProto(file)
	msgs := messageProtos(fdp)
	envProto := msgs[env.md.FullName()]
	if envProto == nil {
		return nil
	}
	names := []string{"op", "ts_ms", "source", "after"}
	if withBefore {
		names = append(names, "before")
	}
	trimFields(envProto, func(f *descriptorpb.FieldDescriptorProto) bool { return slices.Contains(names, f.GetName()) })

	// The row and source types are cut too when they are this file's own
	// and nothing but the envelope refers to them: a type used elsewhere
	// (or by itself) must keep every field for those uses.
	usedBy := typeUses(msgs)
	onlyEnvelope := func(fd protoreflect.FieldDescriptor) *descriptorpb.DescriptorProto {
		if fd == nil {
			return nil
		}
		t := fd.Message()
		p := msgs[t.FullName()]
		if p == nil || t.FullName() == env.md.FullName() {
			return nil
		}
		for _, user := range usedBy[t.FullName()] {
			if user != env.md.FullName() {
				return nil
			}
		}
		return p
	}
	if row := onlyEnvelope(env.after); row != nil && keep != nil {
		trimFields(row, func(f *descriptorpb.FieldDescriptorProto) bool { return keep.keeps(f.GetName()) })
	}
	if src := onlyEnvelope(env.source); src != nil && (env.row == nil || env.source.Message() != env.row) {
		trimFields(src, func(f *descriptorpb.FieldDescriptorProto) bool { return f.GetName() == "ts_ms" })
	}

	deps := new(protoregistry.Files)
	if !registerImports(deps, file, map[string]bool{}) {
		return nil
	}
	lean, err := protodesc.NewFile(fdp, deps)
	if err != nil {
		return nil
	}
	md := findMessage(lean.Messages(), env.md.FullName())
	if md == nil {
		return nil
	}
	return newEnvelopeFields(md)
}

// messageProtos indexes the message types of a file, nested ones included,
// by full name.
func messageProtos(fdp *descriptorpb.FileDescriptorProto) map[protoreflect.FullName]*descriptorpb.DescriptorProto {
	out := map[protoreflect.FullName]*descriptorpb.DescriptorProto{}
	var walk func(prefix string, ms []*descriptorpb.DescriptorProto)
	walk = func(prefix string, ms []*descriptorpb.DescriptorProto) {
		for _, m := range ms {
			name := m.GetName()
			if prefix != "" {
				name = prefix + "." + name
			}
			out[protoreflect.FullName(name)] = m
			walk(name, m.GetNestedType())
		}
	}
	walk(fdp.GetPackage(), fdp.GetMessageType())
	return out
}

// typeUses lists, for each message type, the message types that have a
// field of it. Field type names in a descriptor built from a compiled file
// are fully qualified, with a leading dot.
func typeUses(msgs map[protoreflect.FullName]*descriptorpb.DescriptorProto) map[protoreflect.FullName][]protoreflect.FullName {
	out := map[protoreflect.FullName][]protoreflect.FullName{}
	for name, m := range msgs {
		for _, f := range m.GetField() {
			if t := f.GetTypeName(); len(t) > 1 && t[0] == '.' {
				out[protoreflect.FullName(t[1:])] = append(out[protoreflect.FullName(t[1:])], name)
			}
		}
	}
	return out
}

// trimFields keeps the fields of m that keep accepts, and the oneofs that
// still have a field (a proto3 optional field has one of its own).
func trimFields(m *descriptorpb.DescriptorProto, keep func(*descriptorpb.FieldDescriptorProto) bool) {
	m.Field = slices.DeleteFunc(m.Field, func(f *descriptorpb.FieldDescriptorProto) bool { return !keep(f) })
	renumber := map[int32]int32{}
	var oneofs []*descriptorpb.OneofDescriptorProto
	for _, f := range m.Field {
		if f.OneofIndex == nil {
			continue
		}
		old := f.GetOneofIndex()
		n, ok := renumber[old]
		if !ok {
			n = int32(len(oneofs))
			renumber[old] = n
			oneofs = append(oneofs, m.OneofDecl[old])
		}
		f.OneofIndex = proto.Int32(n)
	}
	m.OneofDecl = oneofs
}

// registerImports adds the files file imports, and theirs, to files.
func registerImports(files *protoregistry.Files, file protoreflect.FileDescriptor, seen map[string]bool) bool {
	imports := file.Imports()
	for i := 0; i < imports.Len(); i++ {
		dep := imports.Get(i).FileDescriptor
		if seen[dep.Path()] {
			continue
		}
		seen[dep.Path()] = true
		if !registerImports(files, dep, seen) || files.RegisterFile(dep) != nil {
			return false
		}
	}
	return true
}

// findMessage finds a message type by full name among msgs and their
// nested types.
func findMessage(msgs protoreflect.MessageDescriptors, name protoreflect.FullName) protoreflect.MessageDescriptor {
	for i := 0; i < msgs.Len(); i++ {
		m := msgs.Get(i)
		if m.FullName() == name {
			return m
		}
		if found := findMessage(m.Messages(), name); found != nil {
			return found
		}
	}
	return nil
}
