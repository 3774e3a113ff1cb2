package pipeline

import (
	"context"
	"slices"
	"sync"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// rowTracker follows, per source row (message key), the messages this
// session took and has not settled yet, in partition order. It is what
// orders an email change after the row's older messages: their user is
// another identity than the new one, so the per-user rule alone would let
// both go at once. Handle adds (from the partition goroutines), the engine
// settles.
type rowTracker struct {
	mu   sync.Mutex
	next uint64
	rows map[state.RowKey]*rowLine
	// spare holds lines dropped from rows, for add to reuse.
	spare spares[rowLine]
}

// rowLine is one row's unsettled messages.
type rowLine struct {
	user change.Identifier // who the newest of them names
	seqs []uint64          // their sequence numbers, oldest first
	// first holds seqs while a row has one message out, as it mostly
	// has: a snapshot's rows are distinct, and an allocation each for
	// their one sequence number was a sixth of the engine's.
	first [1]uint64
}

// rowSeq is one tracked message.
type rowSeq struct {
	row state.RowKey
	seq uint64
}

func newRowTracker() *rowTracker {
	return &rowTracker{rows: map[state.RowKey]*rowLine{}}
}

// add tracks a message of row naming user and returns its sequence number
// and the user the row's newest unsettled message names (zero if none).
func (t *rowTracker) add(row state.RowKey, user change.Identifier) (uint64, change.Identifier) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	l := t.rows[row]
	if l == nil {
		l = t.spare.take()
		l.seqs = l.first[:0]
		t.rows[row] = l
	}
	prev := l.user
	if len(l.seqs) == 0 {
		prev = change.Identifier{}
	}
	l.user = user
	l.seqs = append(l.seqs, t.next)
	return t.next, prev
}

// last returns the user the row's newest unsettled message names.
func (t *rowTracker) last(row state.RowKey) (change.Identifier, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l := t.rows[row]; l != nil && len(l.seqs) > 0 {
		return l.user, true
	}
	return change.Identifier{}, false
}

// first reports whether seq is the oldest unsettled message of its row:
// every older one has its outcome.
func (t *rowTracker) first(rs rowSeq) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.rows[rs.row]
	return l == nil || len(l.seqs) == 0 || l.seqs[0] >= rs.seq
}

// done settles messages and appends to moved the rows whose oldest
// message changed.
func (t *rowTracker) done(settled []rowSeq, moved []state.RowKey) []state.RowKey {
	if len(settled) == 0 {
		return moved
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, rs := range settled {
		l := t.rows[rs.row]
		if l == nil {
			continue
		}
		i, ok := slices.BinarySearch(l.seqs, rs.seq)
		if !ok {
			continue
		}
		l.seqs = slices.Delete(l.seqs, i, i+1)
		if i == 0 {
			moved = append(moved, rs.row)
		}
		if len(l.seqs) == 0 {
			// Nothing outside the tracker holds a line, so it may be
			// reused; seqs is set again when it is.
			delete(t.rows, rs.row)
			t.spare.put(l)
		}
	}
	return moved
}

// track names the row of a message, finds the user of a delete that
// carried only its key, and notes whether the row's email changed since its
// newest message still out: such a change moves the profile from that
// message's user, whatever the before image says, since that user is what
// Iterable will hold once the message is through. ok is false for a
// delete whose user nobody knows: nothing in Iterable can be deleted.
func (s *Session) track(ctx context.Context, en entry) (_ entry, ok bool) {
	if !s.p.cfg.MoveEmails || en.ch.User.Kind != change.Email {
		en.ch.From = change.Identifier{} // on_email_change: new_profile
	}
	if s.rows == nil {
		return en, !en.ch.User.IsZero()
	}
	if s.p.cfg.TrackRows {
		// The change's position is the original one, also when a dead
		// letter is replayed: the row is the source topic's.
		en.row = state.RowKeyOf(en.ch.Pos.Topic, en.msg.Key)
	}
	if en.row.IsZero() {
		return en, !en.ch.User.IsZero()
	}
	if en.ch.User.IsZero() {
		user, err := s.rowUser(ctx, en.row)
		if err != nil || user.IsZero() {
			return en, false
		}
		en.ch.User = user
	}
	seq, prev := s.rows.add(en.row, en.ch.User)
	en.seq = seq
	if s.p.cfg.MoveEmails && !en.ch.Delete && !prev.IsZero() && prev != en.ch.User && en.ch.User.Kind == change.Email {
		en.ch.From = prev
	}
	return en, true
}

// rowUser is the user a row last named: its newest message still out, else
// the index. Only a delete carrying nothing but its key asks, so the round
// trip to the index is rare.
func (s *Session) rowUser(ctx context.Context, row state.RowKey) (change.Identifier, error) {
	if user, ok := s.rows.last(row); ok {
		return user, nil
	}
	if s.p.Index == nil {
		return change.Identifier{}, nil
	}
	var rows []state.Row
	err := s.retry(ctx, "read the row index", func() (err error) {
		rows, _, err = s.p.Index.Lookup(ctx, []state.RowKey{row}, nil)
		return err
	})
	if err != nil {
		return change.Identifier{}, err
	}
	return rows[0].User, nil
}
