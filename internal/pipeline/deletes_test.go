package pipeline

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/attrsync/attrsync/internal/change"
)

// deleteRig is a rig of an email-keyed sync under on_delete: delete, whose
// fake Iterable takes deleteDelay to carry a delete out.
func deleteRig(t *testing.T, deleteDelay time.Duration) *rig {
	r := emailRig(t, Config{})
	r.api.deleteDelay = deleteDelay
	r.api.exists = r.api.found
	return r
}

// A delete is ordered with the row's other changes, and a re-insert right
// after it waits until Iterable finished deleting: sent earlier, it would
// vanish with the deleted user (Iterable deletes asynchronously).
func TestDeleteThenReinsertRecreatesTheUser(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := deleteRig(t, 3*time.Second)
		r.sync([]change.Message{rowMsg(0, 1, "1", "ann@example.com", 1)})
		// Postgres under REPLICA IDENTITY DEFAULT: the delete names only
		// the key; the row index knows whose it is.
		msgs := []change.Message{rowMsg(0, 2, "1", "ann@example.com", 2), delMsg(0, 3, "1", ""), rowMsg(0, 4, "1", "ann@example.com", 3)}
		start := time.Now()
		r.sync(msgs)
		r.checkFinishedOnce(msgs)
		if got := r.api.state(); got != "ann@example.com=3" {
			t.Errorf("Iterable holds %q, want the re-inserted user", got)
		}
		if !slices.Equal(r.api.deletes, []string{"ann@example.com"}) {
			t.Errorf("deletes %v, want ann's", r.api.deletes)
		}
		w := r.api.writesOf("ann@example.com")
		if last := w[len(w)-1]; last.v != 3 || last.at.Sub(start) < 3*time.Second {
			t.Errorf("the re-insert was written %s after the delete, before Iterable's 3s deletion took effect", last.at.Sub(start))
		}
		for _, x := range w {
			if x.v == 2 {
				t.Error("the change before the delete was sent, though the delete supersedes it")
			}
		}
		if st := r.p.Stats(); st.UsersDeleted != 1 || st.Accepted != 4 {
			t.Errorf("deleted %d, accepted %d, want 1 and 4", st.UsersDeleted, st.Accepted)
		}
	})
}

// A delete that names its user deletes it; Debezium's tombstone after it
// finds nobody left to delete; a delete of a row nobody knows is skipped.
func TestDeletesByBeforeImageAndTombstones(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := deleteRig(t, time.Second)
		r.sync([]change.Message{rowMsg(0, 1, "1", "ann@example.com", 1), rowMsg(0, 2, "2", "bob@example.com", 1)})
		msgs := []change.Message{delMsg(0, 3, "1", "ann@example.com"), delMsg(0, 4, "1", ""), delMsg(0, 5, "7", "")}
		r.sync(msgs)
		r.checkFinishedOnce(msgs)
		time.Sleep(2 * time.Second)
		if got := r.api.state(); got != "bob@example.com=1" {
			t.Errorf("Iterable holds %q, want only bob", got)
		}
		if len(r.api.deletes) != 1 {
			t.Errorf("deletes %v, want one", r.api.deletes)
		}
		if st := r.p.Stats(); st.SkippedBy["delete_unknown_user"] != 1 {
			t.Errorf("skipped %v, want the unknown row's delete skipped", st.SkippedBy)
		}
	})
}

// Update mode reads the existence set that `attrsync prime` fills, in the
// same moment as the records: primed users need no lookup.
func TestUpdateModeWithPrimedUsersMakesNoLookups(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, Config{UpdateMode: true})
		var primed []change.Identifier
		for i := range 60 {
			primed = append(primed, change.Identifier{Kind: change.UserID, Value: fmt.Sprintf("user%04d", i)})
		}
		if err := r.store.MarkExisting(t.Context(), primed); err != nil {
			t.Fatal(err)
		}
		msgs := users(100, 1)
		r.sync(msgs)
		if r.api.lookups != 40 || r.p.Stats().Lookups != 40 {
			t.Errorf("%d lookups (%d counted), want 40: one per user not primed", r.api.lookups, r.p.Stats().Lookups)
		}
		if st := r.p.Stats(); st.Accepted != 100 {
			t.Errorf("accepted %d, want 100", st.Accepted)
		}
	})
}
