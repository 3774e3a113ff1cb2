package cdc

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/twmb/avro"
	"github.com/twmb/avro/atype"
)

// Kafka Connect and Debezium type names the binary decoders treat
// specially.
const (
	connectDecimal       = "org.apache.kafka.connect.data.Decimal"
	variableScaleDecimal = "io.debezium.data.VariableScaleDecimal"
)

// avroConv turns the values the Avro library decodes (int32, int64,
// float32, float64, []byte, string, bool, nil, map[string]any, []any) into
// those the JSON decoder builds from JsonConverter's output: json.Number
// for numbers, base64 text for bytes. The schema is needed only where the
// Go value does not say enough: decimals, and what nests inside records,
// arrays and maps. A nil *avroConv converts by Go type alone.
type avroConv struct {
	decimal bool // bytes holding a decimal of scale
	scale   int
	// varDecimal is Debezium's VariableScaleDecimal struct {scale, value},
	// which becomes its number.
	varDecimal bool
	fields     map[string]*avroConv // a record's fields
	elem       *avroConv            // an array's items, a map's values
}

// newAvroConv builds the conversion of values of type t, or nil where Go
// types suffice.
func newAvroConv(t *avro.SchemaNode) *avroConv {
	t = nonNull(t)
	name := typeName(t)
	switch {
	case t.LogicalType == atype.Decimal && (t.Type == atype.Bytes || t.Type == atype.Fixed):
		return &avroConv{decimal: true, scale: t.Scale}
	case name == connectDecimal:
		// A Connect Decimal whose Avro logical type was dropped: the
		// scale is still among the Connect parameters.
		c := &avroConv{decimal: true}
		if params, ok := t.Props["connect.parameters"].(map[string]any); ok {
			if s, ok := params["scale"].(string); ok {
				c.scale, _ = strconv.Atoi(s)
			}
		}
		return c
	case name == variableScaleDecimal && t.Type == atype.Record:
		return &avroConv{varDecimal: true}
	case t.Type == atype.Record:
		c := &avroConv{fields: make(map[string]*avroConv, len(t.Fields))}
		for i := range t.Fields {
			if fc := newAvroConv(&t.Fields[i].Type); fc != nil {
				c.fields[t.Fields[i].Name] = fc
			}
		}
		if len(c.fields) == 0 {
			return nil
		}
		return c
	case t.Type == atype.Array && t.Items != nil:
		if ec := newAvroConv(t.Items); ec != nil {
			return &avroConv{elem: ec}
		}
	case t.Type == atype.Map && t.Values != nil:
		if ec := newAvroConv(t.Values); ec != nil {
			return &avroConv{elem: ec}
		}
	}
	return nil
}

// convert returns v as the JSON decoder would hold it. Records and arrays
// are converted in place (they are fresh from the decoder).
func (c *avroConv) convert(v any, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, failf("invalid Avro data: nesting deeper than %d levels", MaxDepth)
	}
	switch t := v.(type) {
	case nil, string, bool:
		return v, nil
	case int32:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(t, 10)), nil
	case float32:
		return finite(javaFloat(t))
	case float64:
		return finite(javaDouble(t))
	case []byte:
		if c != nil && c.decimal {
			return decimalOrFail(t, c.scale)
		}
		// JsonConverter writes bytes as base64.
		return base64.StdEncoding.EncodeToString(t), nil
	case map[string]any:
		if c != nil && c.varDecimal {
			return variableDecimal(t)
		}
		for k, x := range t {
			var fc *avroConv
			if c != nil {
				fc = c.fields[k]
				if c.elem != nil {
					fc = c.elem
				}
			}
			y, err := fc.convert(x, depth+1)
			if err != nil {
				return nil, err
			}
			t[k] = y
		}
		return t, nil
	case []any:
		var ec *avroConv
		if c != nil {
			ec = c.elem
		}
		for i, x := range t {
			y, err := ec.convert(x, depth+1)
			if err != nil {
				return nil, err
			}
			t[i] = y
		}
		return t, nil
	}
	// Nothing else comes out of a decode with raw logical types; a value
	// that did would be a library change to notice, not to guess about.
	return nil, failf("unexpected Avro value of Go type %T", v)
}

func finite(n json.Number, err error) (any, error) {
	if err != nil {
		return nil, failf("a floating point value is %s", err.Error())
	}
	return n, nil
}

func decimalOrFail(b []byte, scale int) (any, error) {
	n, err := decimalText(b, scale)
	if err != nil {
		return nil, failf("%s", err.Error())
	}
	return n, nil
}

// variableDecimal reads Debezium's VariableScaleDecimal {scale, value}.
func variableDecimal(m map[string]any) (any, error) {
	scale, ok := m["scale"].(int32)
	value, ok2 := m["value"].([]byte)
	if !ok || !ok2 {
		return nil, failf("a VariableScaleDecimal without an int scale and bytes value")
	}
	return decimalOrFail(value, int(scale))
}
