package pipeline

import (
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// indexed is what the index said of the rows and users of a candidate's
// users with something to send.
type indexed struct {
	rows   map[state.RowKey]state.Row
	primed []bool // by user, nil when not asked
}

// refs returns the rows of entries, each with the newest of its messages.
func (x indexed) refs(entries []entry) []rowRef {
	var out []rowRef
	for _, en := range entries {
		if en.row.IsZero() {
			continue
		}
		found := false
		for i := range out {
			if out[i].key == en.row {
				out[i].pos, found = en.ch.Pos, true
			}
		}
		if !found {
			out = append(out, rowRef{key: en.row, row: x.rows[en.row], pos: en.ch.Pos})
		}
	}
	return out
}

func (x indexed) exists(i int) bool { return x.primed != nil && x.primed[i] }

// index reads what the index holds of the rows of items (to follow email
// changes) and, in update mode, whether the existence set holds their
// users (so that primed users need no lookup). Only users with something
// to send get here: an unchanged user needs neither, so a steady stream of
// unchanged events reads one key a user instead of two. Failures are
// retried until the drain ends.
func (s *Session) index(items []*sendItem) (indexed, error) {
	var x indexed
	if s.p.Index == nil {
		return x, nil
	}
	var keys []state.RowKey
	if s.p.cfg.TrackRows {
		seen := map[state.RowKey]bool{}
		for _, it := range items {
			for _, en := range it.w.entries {
				if !en.row.IsZero() && !seen[en.row] {
					seen[en.row] = true
					keys = append(keys, en.row)
				}
			}
		}
	}
	var ask []change.Identifier
	if s.p.cfg.UpdateMode && !s.p.cfg.Request.UpdateOnly {
		ask = make([]change.Identifier, len(items))
		for i, it := range items {
			ask[i] = it.user.ID
		}
	}
	if len(keys) == 0 && len(ask) == 0 {
		return x, nil
	}
	err := s.retry(s.work, "read the row index and existence set", func() error {
		rows, primed, err := s.p.Index.Lookup(s.work, keys, ask)
		if err != nil {
			return err
		}
		x.rows = make(map[state.RowKey]state.Row, len(keys))
		for i, k := range keys {
			x.rows[k] = rows[i]
		}
		if len(ask) > 0 {
			x.primed = primed
		}
		return nil
	})
	return x, err
}

// moveSource says whether a user's profile must first move from another
// email, and notes which in item.from: the email its row had before, as the
// row's newer message still out, the message's before image, or the index
// says, when it differs from the user's.
func (s *Session) moveSource(item *sendItem) bool {
	if !s.p.cfg.MoveEmails || item.user.ID.Kind != change.Email {
		return false
	}
	first := item.w.entries[0]
	from := first.ch.From
	if from.IsZero() {
		for _, ref := range item.rows {
			if ref.key == first.row && ref.row.User.Kind == change.Email && ref.row.Before(first.ch.Pos) {
				from = ref.row.User
			}
		}
	}
	if from.IsZero() || from == item.user.ID {
		return false
	}
	item.from = from
	return true
}

// pointRows records in the index that the rows of items now name their
// users (or, for deleted users, nobody). Rows already right are not
// written, so a steady stream costs no write here. Best effort: a row
// that is not written only costs a needless move attempt later, which
// Iterable answers "no such user".
func (s *Session) pointRows(items []*sendItem, deleted bool) {
	if s.p.Index == nil || !s.p.cfg.TrackRows {
		return
	}
	var keys []state.RowKey
	var rows []state.Row
	for _, it := range items {
		user := it.user.ID
		if deleted {
			user = change.Identifier{}
		}
		for _, ref := range it.rows {
			if ref.row.User == user || !ref.row.Before(ref.pos) {
				continue
			}
			keys = append(keys, ref.key)
			rows = append(rows, ref.row.Pointing(user, ref.pos))
		}
	}
	if len(keys) == 0 {
		return
	}
	err := s.retry(s.work, "write the row index", func() error {
		_, err := s.p.Index.SaveRows(s.work, keys, rows)
		return err
	})
	if err != nil {
		s.p.Log.Debug("row index not written: the drain ended", "rows", len(keys))
	}
}
