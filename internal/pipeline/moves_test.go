package pipeline

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
)

// emailRig is a rig of an email-keyed sync that follows email changes and
// tracks rows.
func emailRig(t *testing.T, cfg Config) *rig {
	cfg.MoveEmails, cfg.TrackRows = true, true
	if cfg.MoveSettle == 0 {
		cfg.MoveSettle = time.Second
	}
	return newRig(t, cfg)
}

// moveAt returns when the fake Iterable saw the updateEmail from>to: the
// time of the first write after it is checked against it.
func (f *fakeAPI) movesSeen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.moves)
}

func (f *fakeAPI) writesOf(user string) []write {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []write
	for _, w := range f.writes {
		if w.user == user {
			out = append(out, w)
		}
	}
	return out
}

// The source sends no before image (Postgres under REPLICA IDENTITY
// DEFAULT): the row index, keyed by the message key, knows the row's old
// email, and the profile moves instead of a second one being created.
func TestEmailChangeMovesTheProfileByRow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := emailRig(t, Config{})
		r.sync([]change.Message{rowMsg(0, 1, "1", "ann@old.example", 1), rowMsg(0, 2, "2", "bob@example.com", 1)})
		moveMsg := rowMsg(0, 3, "1", "ann@new.example", 2)
		start := time.Now()
		r.sync([]change.Message{moveMsg})
		if got := r.api.state(); got != "ann@new.example=2 bob@example.com=1" {
			t.Errorf("Iterable holds %q, want the profile moved and updated, and no other change", got)
		}
		if got := r.api.movesSeen(); !slices.Equal(got, []string{"ann@old.example>ann@new.example"}) {
			t.Errorf("updateEmail calls %v, want one from the old email to the new", got)
		}
		w := r.api.writesOf("ann@new.example")
		if len(w) != 1 || w[0].at.Sub(start) < time.Second {
			t.Errorf("writes to the new email %+v: want one, after the 1s move settle", w)
		}
		if st := r.p.Stats(); st.EmailsMoved != 1 || st.Accepted != 3 || st.DeadLettered != 0 {
			t.Errorf("moved %d accepted %d dead %d, want 1 3 0", st.EmailsMoved, st.Accepted, st.DeadLettered)
		}
		// Later changes of the row follow the new email; replaying the
		// old email's message is stale and moves nothing back.
		r.sync([]change.Message{rowMsg(0, 1, "1", "ann@old.example", 1), rowMsg(0, 4, "1", "ann@new.example", 3)})
		if got := r.api.state(); got != "ann@new.example=3 bob@example.com=1" || len(r.api.movesSeen()) != 1 {
			t.Errorf("after a later change and a replay Iterable holds %q (moves %v)", got, r.api.movesSeen())
		}
	})
}

// A before image says the row's old email even when the index has never
// seen the row (the sync started after the row was last written).
func TestEmailChangeMovesTheProfileByBeforeImage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := emailRig(t, Config{})
		r.api.profiles["ann@old.example"] = 7 // written before attrsync
		r.sync([]change.Message{movedMsg(0, 5, "1", "ann@old.example", "ann@new.example", 8)})
		if got := r.api.state(); got != "ann@new.example=8" {
			t.Errorf("Iterable holds %q, want the profile moved", got)
		}
		// With on_email_change new_profile the same message writes a second
		// profile and leaves the old one, as before email changes were
		// followed: the test would pass without the move only that way.
		n := newRig(t, Config{})
		n.api.profiles["ann@old.example"] = 7
		n.sync([]change.Message{movedMsg(0, 5, "1", "ann@old.example", "ann@new.example", 8)})
		if got := n.api.state(); got != "ann@new.example=8 ann@old.example=7" {
			t.Errorf("new_profile: Iterable holds %q", got)
		}
	})
}

// The move is ordered like every write: a change to the old email just
// before it reaches Iterable first, a change to the new email right after
// it reaches Iterable after the move, and no request for either email is
// out while the move is made.
func TestEmailChangeIsOrderedWithTheRowsOtherChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := emailRig(t, Config{})
		r.api.latency = 300 * time.Millisecond
		msgs := []change.Message{
			rowMsg(0, 1, "1", "ann@old.example", 1),
			rowMsg(0, 2, "1", "ann@old.example", 2), // before the move
			rowMsg(0, 3, "1", "ann@new.example", 3), // the move
			rowMsg(0, 4, "1", "ann@new.example", 4), // right after it
			rowMsg(1, 1, "9", "zed@example.com", 1),
		}
		r.sync(msgs)
		r.checkFinishedOnce(msgs)
		if got := r.api.state(); got != "ann@new.example=4 zed@example.com=1" {
			t.Fatalf("Iterable holds %q, want the moved profile with the last value", got)
		}
		old, cur := r.api.writesOf("ann@old.example"), r.api.writesOf("ann@new.example")
		if len(old) == 0 || old[len(old)-1].v != 2 {
			t.Errorf("writes to the old email %+v: its last must be 2, before the move", old)
		}
		if len(cur) == 0 || cur[0].v != 4 {
			t.Errorf("writes to the new email %+v: want 4 (3 coalesced with it)", cur)
		}
		if len(old) > 0 && len(cur) > 0 && !old[len(old)-1].at.Before(cur[0].at) {
			t.Error("the old email was written after the new one")
		}
		if r.api.emailOut != 0 || r.api.overlap != 0 {
			t.Errorf("%d updateEmail calls while a bulkUpdate of one of their emails was out, %d overlapping bulkUpdates", r.api.emailOut, r.api.overlap)
		}
	})
}

// A move Iterable refuses (the new email has a profile of its own) is
// dead-lettered with its own class, names no email, and leaves both
// profiles as they were.
func TestRefusedEmailChangeIsDeadLettered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := emailRig(t, Config{})
		r.sync([]change.Message{rowMsg(0, 1, "1", "ann@example.com", 1), rowMsg(0, 2, "2", "bob@example.com", 1)})
		clash := rowMsg(0, 3, "1", "bob@example.com", 5)
		r.sync([]change.Message{clash})
		if got := r.api.state(); got != "ann@example.com=1 bob@example.com=1" {
			t.Errorf("Iterable holds %q, want both profiles untouched", got)
		}
		dead := r.dlq.records()
		if len(dead) != 1 {
			t.Fatalf("%d dead letters, want 1", len(dead))
		}
		f, ok := dlq.Failure(dead[0])
		if !ok || f.Class != change.ClassEmailChange || string(dead[0].Key) != "1" {
			t.Errorf("dead letter %+v (key %s), want class email_change of row 1", f, dead[0].Key)
		}
		if strings.Contains(f.Reason, "@") {
			t.Errorf("the failure reason names an email: %q", f.Reason)
		}
		if st := r.p.Stats(); st.DeadLetteredBy["email_change"] != 1 || st.EmailsMoved != 0 {
			t.Errorf("dead-lettered by class %v, moved %d", st.DeadLetteredBy, st.EmailsMoved)
		}
	})
}
