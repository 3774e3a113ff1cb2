package dlq

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

func TestSummary(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	msg := func(off int64, email string) change.Message {
		return change.Message{Pos: change.Position{Topic: "users", Offset: off}, Key: []byte(`{"email":"` + email + `"}`), Value: []byte(`{}`)}
	}
	recs := []change.Message{
		Record(msg(1, "ann.smith@example.com"), &change.Failure{Class: change.ClassRejected, Reason: "Iterable rejected the user (failedUpdates.forgottenEmails)", HTTPStatus: 200}, t0.Add(time.Hour)),
		Record(msg(2, "bob@example.org"), &change.Failure{Class: change.ClassIdentifier, Reason: `invalid email "bob@@example.org"`}, t0),
		Record(msg(3, "cy@example.net"), &change.Failure{Class: change.ClassRejected, Reason: "Iterable rejected the user (failedUpdates.forgottenEmails)", HTTPStatus: 200}, t0.Add(2*time.Hour)),
	}
	s := NewSummary(2)
	for _, r := range recs {
		s.Add(r)
	}
	if s.Total != 3 || s.ByClass[change.ClassRejected] != 2 || s.ByClass[change.ClassIdentifier] != 1 {
		t.Errorf("counts %d %v", s.Total, s.ByClass)
	}
	if !s.Oldest.Equal(t0) || !s.Newest.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("oldest %s newest %s", s.Oldest, s.Newest)
	}
	if len(s.Samples) != 2 || s.Samples[0].Pos.Offset != 1 {
		t.Errorf("samples %+v", s.Samples)
	}
	var out bytes.Buffer
	if err := s.Write(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"dead letters: 3", "iterable_rejected", "identifier", "2026-03-01T10:00:00Z", "2026-03-01T12:00:00Z", "forgottenEmails", "a***@***.com"} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, raw := range []string{"ann.smith", "example.com", "bob@", "example.org"} {
		if strings.Contains(text, raw) {
			t.Errorf("output shows %q unmasked:\n%s", raw, text)
		}
	}
}

func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"user Ann@Example.COM failed":  "user A***@***.COM failed",
		`{"email":"x@y"}`:              `{"email":"x***@***"}`,
		"no identifier here":           "no identifier here",
		"two a@b.io and c.d@e.f.co.uk": "two a***@***.io and c***@***.uk",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}
