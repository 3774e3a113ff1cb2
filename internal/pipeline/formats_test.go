package pipeline_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/cdc/cdctest"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// The tests in this file run the Avro and Protobuf formats through the
// whole sync: app.Build and Run on kfake, a real redis-server, the
// simulator, and a schema registry (srfake) reached over loopback HTTP, as
// attrsync reaches a real one.

// schemaRegistry is a schema registry a test can take down: while down it
// drops every connection without an answer, as an unreachable registry
// behind a load balancer does.
type schemaRegistry struct {
	*srfake.Registry
	url  string
	down atomic.Bool
}

func startRegistry(t *testing.T) *schemaRegistry {
	t.Helper()
	r := &schemaRegistry{Registry: srfake.NewRegistry()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.down.Load() {
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
				return
			}
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		r.Handler().ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// source is the config line reading format from the registry.
func (r *schemaRegistry) source(format string) string {
	return fmt.Sprintf("source: {format: %s, schema_registry: {url: %q}}", format, r.url)
}

// writer is cdctest's writer of format, registering in r.
func (r *schemaRegistry) writer(format string) cdctest.Writer {
	if format == "avro" {
		return cdctest.NewAvro(r.Registry)
	}
	return cdctest.NewProtobuf(r.Registry)
}

// historyTable is the table of testenv.History's rows, as Debezium would
// describe it: plan is a struct (a Postgres composite type) holding tier.
func historyTable() *cdctest.Table {
	return &cdctest.Table{
		Topic: topic,
		Key:   "id",
		Columns: []cdctest.Column{
			{Name: "id", Type: cdctest.Int64},
			{Name: "email", Type: cdctest.String},
			{Name: "first_name", Type: cdctest.String, Optional: true},
			{Name: "plan", Type: cdctest.Struct, Optional: true, Logical: topic + ".Plan", Fields: []cdctest.Column{
				{Name: "tier", Type: cdctest.String, Optional: true},
			}},
			{Name: "version", Type: cdctest.Int64},
			{Name: "signup_at", Type: cdctest.Int64},
			{Name: "last_login", Type: cdctest.Int64, Optional: true},
		},
	}
}

// reencode writes History's JSON messages again with w, the row changed by
// edit when it is not nil.
func reencode(t *testing.T, msgs []change.Message, w cdctest.Writer, table *cdctest.Table, edit func(cdctest.Row)) []change.Message {
	t.Helper()
	out := make([]change.Message, len(msgs))
	for i, m := range msgs {
		ev, err := cdctest.FromJSONEnvelope(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(ev.After)
		}
		key, value, err := w.Event(table, ev)
		if err != nil {
			t.Fatalf("%s: %v", w.Format(), err)
		}
		out[i] = change.Message{Key: key, Value: value}
	}
	return out
}

// syncToEnd runs a sync with the source config line over the n messages
// on the topic, until they are all finished and the group's offsets are
// committed to the end.
func (e *env) syncToEnd(source string, n int, group string) {
	e.t.Helper()
	r := e.start(e.config(group, source))
	r.WaitFinished(int64(n))
	e.waitCommitted(group)
	r.Close()
}

// checkNoDeadLetters fails the test if the dead-letter topic has records.
func (e *env) checkNoDeadLetters() {
	e.t.Helper()
	if dead, _ := e.deadByClass(); len(dead) > 0 {
		e.t.Errorf("dead letters: %v", dead)
	}
}

// TestFormatsEndInTheSameState syncs one generated users stream written as
// JSON, Avro and Protobuf, each into an Iterable of its own: every one ends
// with each user's last values, and the three Iterables hold the same
// profiles, field for field.
func TestFormatsEndInTheSameState(t *testing.T) {
	h := testenv.History(150, 6, 11)
	profiles := map[string]map[string]sim.Profile{}
	for _, format := range []string{"json", "avro", "protobuf"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, 3, sim.Options{})
			msgs, source := h.Msgs, "source: {format: debezium}"
			if format != "json" {
				reg := startRegistry(t)
				msgs, source = reencode(t, h.Msgs, reg.writer(format), historyTable(), nil), reg.source(format)
			}
			e.Kafka.Produce(topic, msgs...)
			e.syncToEnd(source, len(msgs), "g-"+format)
			e.checkNoDeadLetters()
			testenv.CheckProfiles(t, e.Sim, h.Last)
			profiles[format] = e.Sim.Profiles()
		})
	}
	want := profiles["json"]
	for _, format := range []string{"avro", "protobuf"} {
		got := profiles[format]
		if !slices.Equal(slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want))) {
			t.Errorf("%s: Iterable has profiles of other users than with json", format)
			continue
		}
		bad := 0
		for email, p := range want {
			if !reflect.DeepEqual(got[email].DataFields, p.DataFields) {
				if bad++; bad <= 3 {
					t.Errorf("%s: %s is %v, with json %v", format, email, got[email].DataFields, p.DataFields)
				}
			}
		}
	}
}

// TestSchemaEvolutionNeedsNoRestart adds a column halfway through a stream
// while the sync runs: the messages after it carry a new schema id, which
// the running sync fetches, and the new column, mapped from the start,
// reaches Iterable.
func TestSchemaEvolutionNeedsNoRestart(t *testing.T) {
	for _, format := range []string{"avro", "protobuf"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, 3, sim.Options{})
			reg := startRegistry(t)
			h := testenv.History(100, 6, 12)
			half := len(h.Msgs) / 2
			v1 := historyTable()
			v2 := v1.WithColumn(cdctest.Column{Name: "nickname", Type: cdctest.String, Optional: true})
			nick := func(row cdctest.Row) { row["nickname"] = fmt.Sprintf("nick-%v-%v", row["id"], row["version"]) }
			w := reg.writer(format)
			first := reencode(t, h.Msgs[:half], w, v1, nil)
			second := reencode(t, h.Msgs[half:], w, v2, nick)

			r := e.start(e.config("g", reg.source(format), "    - {from: nickname, to: nickname}"))
			e.Kafka.Produce(topic, first...)
			r.WaitFinished(int64(half))
			e.Kafka.Produce(topic, second...)
			r.WaitFinished(int64(len(h.Msgs)))
			e.waitCommitted("g")
			r.Close()

			subject := topic + "-value"
			if _, ok := reg.GetSchema(subject, 2); !ok {
				t.Fatalf("the registry has one version of %s: the stream did not change schema", subject)
			}
			e.checkNoDeadLetters()
			testenv.CheckProfiles(t, e.Sim, h.Last)
			// Every user has events in the second half, so every profile
			// ends with the nickname of its last row.
			profiles := e.Sim.Profiles()
			for email, row := range h.Last {
				want := fmt.Sprintf("nick-%v-%v", row["id"], row["version"])
				if got := profiles[email].DataFields["nickname"]; got != want {
					t.Errorf("%s: nickname %v, want %s", email, got, want)
				}
			}
		})
	}
}

// TestRegistryOutageMakesPartitionsWait starts a sync while the schema
// registry drops every connection: nothing is dead-lettered, sent or
// committed while it is down, and once it is back every message arrives.
func TestRegistryOutageMakesPartitionsWait(t *testing.T) {
	for _, format := range []string{"avro", "protobuf"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, 3, sim.Options{})
			reg := startRegistry(t)
			h := testenv.History(60, 3, 13)
			msgs := reencode(t, h.Msgs, reg.writer(format), historyTable(), nil)
			e.Kafka.Produce(topic, msgs...)
			reg.down.Store(true)

			r := e.start(e.config("g", reg.source(format)))
			// Long enough for many retries and a few offset commits.
			time.Sleep(2 * time.Second)
			if n := len(e.Sim.Profiles()); n != 0 {
				t.Errorf("%d profiles reached Iterable while no schema could be read", n)
			}
			if dead, _ := e.deadByClass(); len(dead) > 0 {
				t.Errorf("dead letters while the registry was down: %v", dead)
			}
			// The group may commit where it starts (0), never past it.
			for p, off := range e.Kafka.Committed("g", topic, e.Parts) {
				if off > 0 {
					t.Errorf("partition %d committed to %d while the registry was down", p, off)
				}
			}

			reg.down.Store(false)
			r.WaitFinished(int64(len(msgs)))
			e.waitCommitted("g")
			r.Close()
			e.checkNoDeadLetters()
			testenv.CheckProfiles(t, e.Sim, h.Last)
		})
	}
}

// TestUnknownSchemaIDIsDeadLettered sends a message whose schema id the
// registry never had, among good ones: after the registry's retries it is
// dead-lettered as decode, with the id named and its bytes kept, and the
// rest of the stream syncs.
func TestUnknownSchemaIDIsDeadLettered(t *testing.T) {
	for _, format := range []string{"avro", "protobuf"} {
		t.Run(format, func(t *testing.T) {
			e := newEnv(t, 2, sim.Options{})
			reg := startRegistry(t)
			h := testenv.History(40, 2, 14)
			w := reg.writer(format)
			msgs := reencode(t, h.Msgs, w, historyTable(), nil)
			// A valid message of a user of its own, whose header names an
			// id that was never registered.
			stray := reencode(t, []change.Message{upsertRow(9999, "stray@example.com", "S", 1)}, w, historyTable(), nil)[0]
			binary.BigEndian.PutUint32(stray.Value[1:5], 4242)
			msgs = slices.Insert(msgs, len(msgs)/2, stray)
			e.Kafka.Produce(topic, msgs...)

			e.syncToEnd(reg.source(format), len(msgs), "g")
			byClass, dead := e.deadByClass()
			if len(dead) != 1 || byClass[change.ClassDecode] != 1 {
				t.Fatalf("dead letters by class %v, want one decode", byClass)
			}
			testenv.CheckDeadLetter(t, dead[0])
			if !bytes.Equal(dead[0].Value, stray.Value) {
				t.Error("the dead letter does not hold the message's bytes")
			}
			if f, _ := dlq.Failure(dead[0]); !strings.Contains(f.Reason, "id 4242") {
				t.Errorf("the dead letter's reason %q does not name schema id 4242", f.Reason)
			}
			testenv.CheckProfiles(t, e.Sim, h.Last)
		})
	}
}
