package dlq_test

import (
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/testenv"
)

func TestRecordCarriesTheFailureOnce(t *testing.T) {
	orig := change.Message{
		Pos: change.Position{Topic: "app.public.users", Partition: 3, Offset: 41},
		Key: []byte(`{"id":7}`), Value: []byte(`{"op":"u"}`),
		Headers: []change.Header{{Key: "traceparent", Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")}},
	}
	first := dlq.Record(orig, &change.Failure{Class: change.ClassConvert, Reason: "cannot convert"}, time.Now())
	testenv.CheckDeadLetter(t, first)

	// Replayed from the DLQ (its own position now on the DLQ topic) and
	// failing again: the original position survives, the failure is
	// replaced rather than repeated.
	first.Pos = change.Position{Topic: "attrsync.users.dlq", Partition: 0, Offset: 9}
	again := dlq.Record(first, &change.Failure{Class: change.ClassRejected, Reason: "forgotten", HTTPStatus: 200, Attempts: 1}, time.Now())
	testenv.CheckDeadLetter(t, again)
	if pos := dlq.OriginalPosition(again); pos != orig.Pos {
		t.Errorf("original position %v, want %v", pos, orig.Pos)
	}
	f, _ := dlq.Failure(again)
	if f.Class != change.ClassRejected || f.HTTPStatus != 200 || f.Attempts != 1 {
		t.Errorf("failure %+v, want the second one", f)
	}
	if string(again.Value) != string(orig.Value) || string(again.Key) != string(orig.Key) {
		t.Error("key or value changed")
	}
}

func TestSchemaRejectsAnIncompleteRecord(t *testing.T) {
	incomplete := change.Message{Value: []byte("x"), Headers: []change.Header{{Key: dlq.HeaderClass, Value: []byte("decode")}}}
	ft := &fakeT{TB: t}
	testenv.CheckDeadLetter(ft, incomplete)
	if !ft.failed {
		t.Fatal("a record without the failure headers passed the schema")
	}
}

// fakeT records a failure instead of failing, to show the check can fail.
type fakeT struct {
	testing.TB
	failed bool
}

func (f *fakeT) Errorf(string, ...any) { f.failed = true }

// TestRecordCarriesTheDetail: the value a failure's Detail holds is kept
// out of logs but belongs in the dead letter, beside the original value.
func TestRecordCarriesTheDetail(t *testing.T) {
	f := &change.Failure{Class: change.ClassConvert, Reason: "attribute phone (from phone): cannot convert a string to number", Detail: `value "+1 555 0100"`}
	rec := dlq.Record(change.Message{Value: []byte(`{}`)}, f, time.Now())
	got, _ := rec.Header(dlq.HeaderMessage)
	if want := f.Reason + `; value "+1 555 0100"`; string(got) != want {
		t.Errorf("message header %q, want %q", got, want)
	}
	if strings.Contains(f.Error(), "555") {
		t.Errorf("Error() %q shows the detail", f.Error())
	}
}
