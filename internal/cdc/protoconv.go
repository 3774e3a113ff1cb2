package cdc

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Protobuf values become what the JSON decoder builds from JsonConverter's
// output for the Kafka Connect value ProtobufConverter reads back: numbers
// as json.Number, bytes as base64, enums by name, and the message types
// ProtobufConverter writes for Connect's logical types as Connect's
// numbers (a google.protobuf.Timestamp as epoch milliseconds, a
// google.type.Date as days). A field without presence that is not set
// reads as its zero value, as ProtobufConverter reads it; only message
// fields, proto3 optional fields and wrapper types can be null.

// Full names of the message types read as values rather than objects.
const (
	pbTimestamp  = "google.protobuf.Timestamp"
	pbDate       = "google.type.Date"
	pbTimeOfDay  = "google.type.TimeOfDay"
	pbDecimal    = "confluent.type.Decimal"
	connectDate  = "org.apache.kafka.connect.data.Date"
	connectTime  = "org.apache.kafka.connect.data.Time"
	connectStamp = "org.apache.kafka.connect.data.Timestamp"
)

// protoTypeName is the Kafka Connect type name a message type stands for,
// or "".
func protoTypeName(md protoreflect.MessageDescriptor) string {
	switch md.FullName() {
	case pbTimestamp:
		return connectStamp
	case pbDate:
		return connectDate
	case pbTimeOfDay:
		return connectTime
	case pbDecimal:
		return connectDecimal
	}
	if isVariableScaleDecimal(md) {
		return variableScaleDecimal
	}
	return ""
}

// isVariableScaleDecimal recognises Debezium's VariableScaleDecimal struct,
// which ProtobufConverter turns into a message of that name.
func isVariableScaleDecimal(md protoreflect.MessageDescriptor) bool {
	f := md.Fields()
	scale, value := f.ByName("scale"), f.ByName("value")
	return md.Name() == "VariableScaleDecimal" && f.Len() == 2 && scale != nil && value != nil &&
		scale.Kind() == protoreflect.Int32Kind && value.Kind() == protoreflect.BytesKind
}

func isWrapper(md protoreflect.MessageDescriptor) bool {
	if md.ParentFile() == nil || md.ParentFile().Path() != "google/protobuf/wrappers.proto" {
		return false
	}
	return md.Fields().Len() == 1 && md.Fields().Get(0).Name() == "value"
}

// protoLogicalTypes returns the Connect type names of the kept fields of a
// row message; nil if none.
func protoLogicalTypes(md protoreflect.MessageDescriptor, keep keepSet) map[string]string {
	var out map[string]string
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Kind() != protoreflect.MessageKind || fd.IsList() || fd.IsMap() || !keep.keeps(string(fd.Name())) {
			continue
		}
		if name := protoTypeName(fd.Message()); name != "" {
			if out == nil {
				out = map[string]string{}
			}
			out[string(fd.Name())] = name
		}
	}
	return out
}

// protoRow converts a row message, building only the kept fields.
func protoRow(m protoreflect.Message, keep keepSet) (map[string]any, error) {
	return protoObject(m, keep, 0)
}

func protoObject(m protoreflect.Message, keep keepSet, depth int) (map[string]any, error) {
	if depth > MaxDepth {
		return nil, failf("invalid Protobuf data: nesting deeper than %d levels", MaxDepth)
	}
	fields := m.Descriptor().Fields()
	out := make(map[string]any, fields.Len())
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := string(fd.Name())
		if !keep.keeps(name) {
			continue
		}
		v, err := protoField(m, fd, depth)
		if err != nil {
			return nil, err
		}
		out[name] = v
	}
	return out, nil
}

// protoField reads one field of m.
func protoField(m protoreflect.Message, fd protoreflect.FieldDescriptor, depth int) (any, error) {
	switch {
	case fd.IsList():
		list := m.Get(fd).List()
		out := make([]any, list.Len())
		for i := range out {
			v, err := protoValue(fd, list.Get(i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case fd.IsMap():
		out := map[string]any{}
		var err error
		m.Get(fd).Map().Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
			var x any
			x, err = protoValue(fd.MapValue(), v, depth+1)
			out[k.String()] = x
			return err == nil
		})
		if err != nil {
			return nil, err
		}
		return out, nil
	case fd.HasPresence() && !m.Has(fd):
		return nil, nil
	}
	return protoValue(fd, m.Get(fd), depth)
}

// protoValue converts one value of a field of type fd.
func protoValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, depth int) (any, error) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return v.Bool(), nil
	case protoreflect.StringKind:
		return v.String(), nil
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes()), nil
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name()), nil
		}
		return strconv.Itoa(int(v.Enum())), nil
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return json.Number(strconv.FormatInt(v.Int(), 10)), nil
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return json.Number(strconv.FormatUint(v.Uint(), 10)), nil
	case protoreflect.FloatKind:
		return finite(javaFloat(float32(v.Float())))
	case protoreflect.DoubleKind:
		return finite(javaDouble(v.Float()))
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return protoMessageValue(v.Message(), depth+1)
	}
	return nil, failf("unsupported Protobuf field kind %s", fd.Kind())
}

// protoMessageValue converts a message value: a logical type or wrapper to
// its scalar, any other message to an object of all its fields.
func protoMessageValue(m protoreflect.Message, depth int) (any, error) {
	md := m.Descriptor()
	f := md.Fields()
	num := func(name protoreflect.Name) int64 {
		if fd := f.ByName(name); fd != nil {
			switch fd.Kind() {
			case protoreflect.Uint32Kind, protoreflect.Uint64Kind, protoreflect.Fixed32Kind, protoreflect.Fixed64Kind:
				return int64(m.Get(fd).Uint())
			}
			return m.Get(fd).Int()
		}
		return 0
	}
	switch {
	case md.FullName() == pbTimestamp:
		ms := num("seconds")*1000 + floorDiv(num("nanos"), 1e6)
		return json.Number(strconv.FormatInt(ms, 10)), nil
	case md.FullName() == pbDate:
		y, mo, d := num("year"), num("month"), num("day")
		if mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1 || y > 9999 {
			return nil, failf("a google.type.Date that is not a whole date")
		}
		days := time.Date(int(y), time.Month(mo), int(d), 0, 0, 0, 0, time.UTC).Unix() / 86400
		return json.Number(strconv.FormatInt(days, 10)), nil
	case md.FullName() == pbTimeOfDay:
		ms := ((num("hours")*60+num("minutes"))*60+num("seconds"))*1000 + num("nanos")/1e6
		return json.Number(strconv.FormatInt(ms, 10)), nil
	case md.FullName() == pbDecimal || isVariableScaleDecimal(md):
		var b []byte
		if fd := f.ByName("value"); fd != nil && fd.Kind() == protoreflect.BytesKind {
			b = m.Get(fd).Bytes()
		}
		return decimalOrFail(b, int(num("scale")))
	case isWrapper(md):
		fd := f.Get(0)
		return protoValue(fd, m.Get(fd), depth)
	}
	return protoObject(m, nil, depth)
}

// floorDiv divides rounding towards minus infinity, as Java's
// Timestamps.toMillis does for a timestamp before the epoch.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
