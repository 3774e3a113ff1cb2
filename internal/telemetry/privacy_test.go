package telemetry_test

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// traceparent is a W3C trace context header value for trace and span ids.
func traceparent(trace, span string) change.Header {
	return change.Header{Key: "traceparent", Value: []byte("00-" + trace + "-" + span + "-01")}
}

func withHeader(m change.Message, h change.Header) change.Message {
	m.Headers = append(m.Headers, h)
	return m
}

func row(id int, email, name string, version int) testenv.Row {
	return testenv.Row{"id": id, "email": email, "first_name": name, "plan": map[string]any{"tier": "pro"}, "version": version, "signup_at": 1700000000000}
}

// TestTracesLinkToProducersAndNothingLeaks runs an update-mode sync (so
// lookups carry emails in their URLs) at info level, with messages that
// carry W3C traceparent headers, a user Iterable refuses, and an invalid
// email. Batch spans must link to the producers' traces, the refused
// user's dead letter must carry the batch's trace, and neither the API key
// nor any email may appear in logs, /metrics, OTLP exports or dead-letter
// headers.
func TestTracesLinkToProducersAndNothingLeaks(t *testing.T) {
	const (
		traceA = "4bf92f3577b34da6a3ce929d0e0e4736"
		traceB = "0af7651916cd43dd8448eb211c80319c"
	)
	emails := []string{"Known.Person@Example.com", "second.person@example.com", "never.seen@example.com", "bad email@@example.com"}
	r := newRig(t, 1, sim.Options{})
	for _, e := range emails[:2] {
		if err := r.Sim.SeedUser(e, "", map[string]any{"firstName": "seeded"}); err != nil {
			t.Fatal(err)
		}
	}
	r.Kafka.Produce(topic,
		withHeader(testenv.Upsert(1, row(1, emails[0], "Ann", 1)), traceparent(traceA, "00f067aa0ba902b7")),
		withHeader(testenv.Upsert(2, row(2, emails[1], "Bob", 1)), traceparent(traceB, "b7ad6b7169203331")),
		testenv.Upsert(3, row(3, emails[2], "Cid", 1)),
		testenv.Upsert(4, row(4, emails[3], "Dee", 1)),
	)
	r.start(r.config("  mode: update"))
	r.waitFinished(4)
	// The state now knows user 1 exists, so its next change is sent without
	// a lookup; Iterable has forgotten it meanwhile and refuses it.
	r.Sim.Forget(strings.ToLower(emails[0]))
	r.Kafka.Produce(topic, withHeader(testenv.Upsert(1, row(1, emails[0], "Ann2", 2)), traceparent(traceA, "53995c3f42cd8ad8")))
	r.waitFinished(5)
	if st := r.sys.Stats(); st.UsersChanged != 2 || st.UsersAbsent != 1 || st.DeadLettered != 2 {
		t.Fatalf("changed %d, absent %d, dead-lettered %d users/messages; want 2, 1, 2",
			st.UsersChanged, st.UsersAbsent, st.DeadLettered)
	}
	metrics := r.scrape().raw
	r.close() // flushes the OTLP exporters

	secrets := []string{apiKey}
	for _, e := range emails {
		lower := strings.ToLower(e)
		// The local part alone and the URL-escaped form catch an email in
		// a lookup's query string, where "@" is written %40.
		secrets = append(secrets, e, lower, url.QueryEscape(lower), strings.Split(lower, "@")[0])
	}
	leaks := func(where string, data []byte) {
		t.Helper()
		for _, s := range secrets {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s contains %q", where, s)
			}
		}
	}
	leaks("the info-level logs", []byte(r.logs.String()))
	leaks("/metrics", []byte(metrics))
	for _, path := range []string{"/v1/traces", "/v1/metrics"} {
		bodies := r.otlp.posted(path)
		if len(bodies) == 0 {
			t.Errorf("nothing was exported to OTLP %s", path)
		}
		for _, b := range bodies {
			leaks("an OTLP export to "+path, b)
		}
	}

	spans := exportedSpans(t, r.otlp.posted("/v1/traces"))
	linked := map[string]bool{}
	batchTraces := map[string]bool{}
	names := map[string]int{}
	for _, s := range spans {
		names[s.GetName()]++
		if s.GetName() != "attrsync.bulkUpdate" {
			continue
		}
		batchTraces[fmt.Sprintf("%x", s.GetTraceId())] = true
		for _, l := range s.GetLinks() {
			linked[fmt.Sprintf("%x", l.GetTraceId())] = true
		}
	}
	if !linked[traceA] || !linked[traceB] {
		t.Errorf("batch spans link to traces %v, want %s and %s", linked, traceA, traceB)
	}
	if names["GET getByEmail"] == 0 || names["POST bulkUpdate"] == 0 {
		t.Errorf("spans by name %v: want Iterable HTTP request spans", names)
	}

	var rejected int
	for _, rec := range r.Kafka.ReadAll(dlqTopic, 1) {
		for _, h := range rec.Headers {
			leaks("dead-letter header "+h.Key, []byte(h.Key+"="+string(h.Value)))
		}
		f, _ := dlq.Failure(rec)
		if f.Class != change.ClassRejected {
			continue
		}
		rejected++
		tp, ok := rec.Header("traceparent")
		parts := strings.Split(string(tp), "-")
		if !ok || len(parts) != 4 || !batchTraces[parts[1]] {
			t.Errorf("the refused user's dead letter has traceparent %q, want one of the batch traces %v", tp, batchTraces)
		}
	}
	if rejected != 1 {
		t.Errorf("%d iterable_rejected dead letters, want 1", rejected)
	}
}

// exportedSpans decodes OTLP/HTTP protobuf trace exports.
func exportedSpans(t *testing.T, bodies [][]byte) []*tracepb.Span {
	t.Helper()
	var out []*tracepb.Span
	for _, b := range bodies {
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			t.Fatalf("OTLP trace export: %v", err)
		}
		for _, rs := range req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				out = append(out, ss.GetSpans()...)
			}
		}
	}
	return out
}

// TestNoAttributeValuesAtInfo: a value that fails to convert (a phone
// number mapped as a number) and a value Iterable refuses with a message
// quoting it must not appear in info-level logs, span statuses, OTLP
// exports or /metrics. The dead letter is where the value may be: its
// message header carries the failure's detail.
func TestNoAttributeValuesAtInfo(t *testing.T) {
	const (
		phone   = "+1 555 0100 4242"
		refused = "Zelda-Quixote-7781"
	)
	r := newRig(t, 1, sim.Options{})
	r.Sim.SetFaults(sim.Faults{RefuseValue: refused})
	badVersion := row(1, "ann@example.com", "Ann", 1)
	badVersion["version"] = phone // version is mapped with type: number
	r.Kafka.Produce(topic,
		testenv.Upsert(1, badVersion),
		testenv.Upsert(2, row(2, "bob@example.com", refused, 1)),
	)
	r.start(r.config())
	r.waitFinished(2)
	if n := r.sys.Stats().DeadLettered; n != 2 {
		t.Fatalf("%d messages dead-lettered, want both", n)
	}
	metrics := r.scrape().raw
	r.close()

	leaks := func(where string, data []byte) {
		t.Helper()
		for _, v := range []string{phone, refused} {
			if bytes.Contains(data, []byte(v)) {
				t.Errorf("%s contains the value %q", where, v)
			}
		}
	}
	leaks("the info-level logs", []byte(r.logs.String()))
	leaks("/metrics", []byte(metrics))
	for _, path := range []string{"/v1/traces", "/v1/metrics"} {
		for _, b := range r.otlp.posted(path) {
			leaks("an OTLP export to "+path, b)
		}
	}
	for _, s := range exportedSpans(t, r.otlp.posted("/v1/traces")) {
		leaks("the status of span "+s.GetName(), []byte(s.GetStatus().GetMessage()))
	}

	var convert bool
	for _, rec := range r.Kafka.ReadAll(dlqTopic, 1) {
		if f, _ := dlq.Failure(rec); f.Class == change.ClassConvert {
			convert = true
			if !strings.Contains(f.Reason, phone) {
				t.Errorf("the convert dead letter's message %q lacks the value, which it alone may carry", f.Reason)
			}
		}
	}
	if !convert {
		t.Error("no convert dead letter")
	}
}
