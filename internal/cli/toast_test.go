package cli

import (
	"fmt"
	"testing"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/testenv"
)

// TestUnchangedToastedColumnsKeepTheirValue replays what issue 14 found:
// Debezium's Postgres connector writes __debezium_unavailable_value for an
// unchanged TOASTed column, and a third of the profiles ended with that
// string as their lastName. Iterable must keep the last real value.
func TestUnchangedToastedColumnsKeepTheirValue(t *testing.T) {
	const toast = "__debezium_unavailable_value"
	e := newOpsEnv(t)
	const users = 30
	var msgs []change.Message
	for round := 1; round <= 2; round++ {
		for u := range users {
			row := testenv.Row{
				"id": u, "email": fmt.Sprintf("user%04d@example.com", u),
				"first_name": fmt.Sprintf("first-%d-%d", u, round),
				"last_name":  fmt.Sprintf("last-%d", u),
				"plan":       `{"tier":"pro"}`, // a jsonb column, as Debezium sends it
			}
			switch {
			case round == 1:
			case u%3 == 0:
				row["last_name"] = toast
			case u%3 == 1:
				row["last_name"], row["plan"] = toast, toast
			}
			msgs = append(msgs, testenv.Upsert(u, row))
		}
	}
	e.Kafka.Produce(opsTopic, msgs...)
	c := e.sync()
	c.Name, c.Group, c.DLQTopic = "toast", "toast", "toast.dlq"
	c.Mapping = `  identifier: {source: email, as: email}
  attributes:
    - {from: first_name, to: firstName}
    - {from: last_name, to: lastName}
    - {from: plan.tier, to: planTier}
`
	path := c.Write(t, t.TempDir(), "toast.yaml")

	// Done when every message is committed, whatever became of it.
	end := e.Kafka.EndOffsets(opsTopic, 2)
	synced := func(string) bool {
		if len(e.Sim.Profiles()) != users {
			return false
		}
		got := e.Kafka.Committed("toast", opsTopic, 2)
		for p, off := range end {
			if got[p] < off {
				return false
			}
		}
		return true
	}
	if code, _, stderr := runUntil(t, []string{"-c", path}, synced); code != exitOK {
		t.Fatalf("run: exit %d:\n%s", code, stderr)
	}
	for email, p := range e.Sim.Profiles() {
		var u int
		fmt.Sscanf(email, "user%04d@", &u)
		if got, want := p.DataFields["lastName"], fmt.Sprintf("last-%d", u); got != want {
			t.Errorf("%s: lastName %v, want %s", email, got, want)
		}
		if got := p.DataFields["firstName"]; got != fmt.Sprintf("first-%d-2", u) {
			t.Errorf("%s: firstName %v, want the second round's", email, got)
		}
		if got := p.DataFields["planTier"]; got != "pro" {
			t.Errorf("%s: planTier %v, want pro", email, got)
		}
	}
	if dead := e.Kafka.ReadAll("toast.dlq", 1); len(dead) != 0 {
		t.Errorf("%d messages dead-lettered, want none", len(dead))
	}
}
