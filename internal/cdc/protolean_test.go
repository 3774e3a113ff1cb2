package cdc

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/bufbuild/protocompile"
	"github.com/twmb/franz-go/pkg/sr"
	"github.com/twmb/franz-go/pkg/sr/srfake"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

func fieldNames(md protoreflect.MessageDescriptor) []string {
	var out []string
	for i := 0; i < md.Fields().Len(); i++ {
		out = append(out, string(md.Fields().Get(i).Name()))
	}
	slices.Sort(out)
	return out
}

// planOf returns the plan the decoder built for the first message type of
// schema id.
func planOf(t *testing.T, d *Decoder, id int) *protoMsgPlan {
	t.Helper()
	p, err := d.bin.(*protoDecoder).plans.get(id, func() (*protoPlan, error) { t.Fatal("schema not compiled yet"); return nil, nil })
	if err != nil {
		t.Fatal(err)
	}
	mp, err := p.message(nil)
	if err != nil {
		t.Fatal(err)
	}
	return mp
}

// TestProtobufReadsALeanEnvelope checks that a decoder reading two columns
// reads ProtobufConverter's envelope through a type cut down to op, ts_ms,
// source.ts_ms and those columns of after, and adds before only for a
// delete, whose row it then decodes.
func TestProtobufReadsALeanEnvelope(t *testing.T) {
	reg := srfake.New()
	defer reg.Close()
	registry, err := NewRegistry(RegistryConfig{URL: reg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	d := mustNew(t, FormatProtobuf, WithRegistry(registry), OnlyFields("email", "first_name"))
	w := cdctest.NewProtobuf(reg)
	events := cdctest.UserEvents(1, 40, 3)
	del := slices.IndexFunc(events, func(e cdctest.Event) bool { return e.Op == "d" })
	if del < 0 {
		t.Fatal("no delete generated")
	}
	for _, ev := range []cdctest.Event{events[1], events[del]} {
		_, value, err := w.Event(cdctest.Users(), ev)
		if err != nil {
			t.Fatal(err)
		}
		row, err := d.Decode(nil, value)
		if err != nil {
			t.Fatalf("op %s: %v", ev.Op, err)
		}
		img := ev.After
		if ev.Op == "d" {
			img = ev.Before
		}
		want := map[string]any{"email": img["email"], "first_name": img["first_name"]}
		if !reflect.DeepEqual(row.Fields, want) {
			t.Errorf("op %s: row %v, want %v", ev.Op, row.Fields, want)
		}
	}

	mp := planOf(t, d, 1)
	if mp.lean == nil || mp.leanBefore == nil {
		t.Fatal("no lean envelope built for ProtobufConverter's schema")
	}
	for _, c := range []struct {
		what      string
		got, want []string
	}{
		{"envelope", fieldNames(mp.lean.md), []string{"after", "op", "source", "ts_ms"}},
		{"envelope with before", fieldNames(mp.leanBefore.md), []string{"after", "before", "op", "source", "ts_ms"}},
		{"row", fieldNames(mp.lean.row), []string{"email", "first_name"}},
		{"source", fieldNames(mp.lean.source.Message()), []string{"ts_ms"}},
	} {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: fields %v, want %v", c.what, c.got, c.want)
		}
	}
	if len(fieldNames(mp.full.row)) != len(cdctest.Users().Columns) {
		t.Errorf("the full row type lost fields: %v", fieldNames(mp.full.row))
	}
}

// TestProtobufKeepsATypeUsedElsewhere writes a schema whose row type is
// also a field of itself: cutting it down for the row would cut the nested
// value too, so it is read whole, and the nested value decodes in full.
func TestProtobufKeepsATypeUsedElsewhere(t *testing.T) {
	const schema = `syntax = "proto3";
package shop.public.users;

message Envelope {
  Value before = 1;
  Value after = 2;
  Source source = 3;
  string op = 4;
  optional int64 ts_ms = 5;

  message Value {
    string email = 1;
    optional string first_name = 2;
    Value referrer = 3;
  }
  message Source {
    int64 ts_ms = 1;
    string table = 2;
  }
}
`
	reg := srfake.New()
	defer reg.Close()
	id, _, err := reg.RegisterSchema("shop.public.users-value", sr.Schema{Schema: schema, Type: sr.TypeProtobuf})
	if err != nil {
		t.Fatal(err)
	}
	c := protocompile.Compiler{Resolver: &protocompile.SourceResolver{
		Accessor: protocompile.SourceAccessorFromMap(map[string]string{"s.proto": schema}),
	}}
	files, err := c.Compile(context.Background(), "s.proto")
	if err != nil {
		t.Fatal(err)
	}
	env := dynamicpb.NewMessage(files[0].Messages().Get(0))
	ef := env.Descriptor().Fields()
	after := env.Mutable(ef.ByName("after")).Message()
	af := after.Descriptor().Fields()
	after.Set(af.ByName("email"), protoreflect.ValueOfString("a@example.com"))
	after.Set(af.ByName("first_name"), protoreflect.ValueOfString("Ada"))
	ref := after.Mutable(af.ByName("referrer")).Message()
	ref.Set(af.ByName("email"), protoreflect.ValueOfString("b@example.com"))
	ref.Set(af.ByName("first_name"), protoreflect.ValueOfString("Bo"))
	env.Set(ef.ByName("op"), protoreflect.ValueOfString("c"))
	payload, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	value := binary.BigEndian.AppendUint32([]byte{0}, uint32(id))
	value = append(append(value, 0), payload...)

	registry, err := NewRegistry(RegistryConfig{URL: reg.URL()})
	if err != nil {
		t.Fatal(err)
	}
	d := mustNew(t, FormatProtobuf, WithRegistry(registry), OnlyFields("email", "referrer"))
	row, err := d.Decode(nil, value)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"email": "a@example.com", "referrer": map[string]any{
		"email": "b@example.com", "first_name": "Bo", "referrer": nil,
	}}
	if row.Op != change.OpUpsert || !reflect.DeepEqual(row.Fields, want) {
		got, _ := json.Marshal(row.Fields)
		t.Errorf("row %s, want %v", got, want)
	}
	mp := planOf(t, d, id)
	if mp.lean == nil {
		t.Fatal("no lean envelope built")
	}
	if got := fieldNames(mp.lean.row); len(got) != 3 {
		t.Errorf("the row type, also used by itself, was cut to %v", got)
	}
	if got := fieldNames(mp.lean.source.Message()); !slices.Equal(got, []string{"ts_ms"}) {
		t.Errorf("source cut to %v, want [ts_ms]", got)
	}
}
