package cli

import (
	"bytes"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/sim"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestDLQInspectAndReplay puts three dead letters in the topic (two users
// Iterable now accepts, one it still refuses), replays them, and inspects
// the topic: the two are synced, the third returns to the topic once, and
// inspect counts all by class without showing an email.
func TestDLQInspectAndReplay(t *testing.T) {
	const (
		topic = "app.public.users"
		dead  = "attrsync.cli.dlq"
		key   = "cli-test-key-0123456789"
	)
	k := testenv.StartKafka(t, 1, topic, dead)
	r := testenv.StartRedis(t)
	s := sim.New(sim.Options{APIKey: key})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	s.Forget("gone@example.com")

	var recs []change.Message
	for i, email := range []string{"ann@example.com", "bob@example.com", "gone@example.com"} {
		m := testenv.Upsert(i, testenv.Row{"email": email, "first_name": "N" + email[:1]})
		m.Pos = change.Position{Topic: topic, Partition: 0, Offset: int64(10 + i)}
		recs = append(recs, dlq.Record(m, &change.Failure{Class: change.ClassRetriesExhausted, Reason: "gave up after 9 attempts: HTTP 503", HTTPStatus: 503, Attempts: 9}, time.Now()))
	}
	k.Produce(dead, recs...)
	path := writeFile(t, fmt.Sprintf(`
sync: {name: cli}
kafka: {brokers: [%q], topics: [%q]}
redis: {url: %q}
iterable:
  base_url: %q
  api_key: %s
  identifier: {source: email, as: email}
  attributes: [{from: first_name, to: firstName}]
batch: {max_wait: 20ms}
dlq: {topic: %q}
telemetry: {log_level: warn}
`, k.Brokers[0], topic, r.URL, srv.URL, key, dead))

	var out, errOut bytes.Buffer
	if code := Main([]string{"dlq", "replay", "-c", path}, &out, &errOut); code != 0 {
		t.Fatalf("dlq replay exit %d; stderr:\n%s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "replayed 3 dead letters: 2 accepted") || !strings.Contains(out.String(), "1 dead-lettered again") {
		t.Errorf("dlq replay printed %q", out.String())
	}
	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		if p, ok := s.Profile(email); !ok || p.DataFields["firstName"] == nil {
			t.Errorf("%s not synced by the replay", email)
		}
	}
	all := k.ReadAll(dead, 1)
	if len(all) != 4 {
		t.Fatalf("dead-letter topic holds %d records, want the 3 plus the one that failed again", len(all))
	}
	again := all[3]
	if f, _ := dlq.Failure(again); f.Class != change.ClassRejected {
		t.Errorf("the record that failed again has class %s, want iterable_rejected", f.Class)
	}
	if pos := dlq.OriginalPosition(again); pos.Topic != topic || pos.Offset != 12 {
		t.Errorf("the record that failed again points at %v, want its original %s/0@12", pos, topic)
	}

	out.Reset()
	errOut.Reset()
	if code := Main([]string{"dlq", "inspect", "-c", path}, &out, &errOut); code != 0 {
		t.Fatalf("dlq inspect exit %d; stderr:\n%s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"dead letters: 4", "retries_exhausted    3", "iterable_rejected    1", "forgottenEmails", "oldest:", "newest:", "samples:"} {
		if !strings.Contains(text, want) {
			t.Errorf("dlq inspect output lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "@example.com") {
		t.Errorf("dlq inspect printed an email:\n%s", text)
	}
}
