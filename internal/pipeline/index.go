package pipeline

import (
	"sync"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/state"
)

// indexed is what the index said of one candidate's rows and users.
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

// load reads the users' records and, at the same time, what the index
// holds of their rows (to follow email changes) and whether the existence
// set holds them (update mode, so that primed users need no lookup). The
// two reads go out together: the index adds no round trip to the diff.
// Failures are retried until the drain ends.
func (s *Session) load(ids []change.Identifier, users []userWork) ([]state.Record, indexed, error) {
	var keys []state.RowKey
	if s.p.cfg.TrackRows {
		seen := map[state.RowKey]bool{}
		for _, w := range users {
			for _, en := range w.entries {
				if !en.row.IsZero() && !seen[en.row] {
					seen[en.row] = true
					keys = append(keys, en.row)
				}
			}
		}
	}
	var ask []change.Identifier
	if s.p.cfg.UpdateMode && !s.p.cfg.Request.UpdateOnly {
		ask = ids
	}
	var x indexed
	var idxErr error
	var wg sync.WaitGroup
	if s.p.Index != nil && (len(keys) > 0 || len(ask) > 0) {
		wg.Go(func() {
			idxErr = s.retry(s.work, "read the row index and existence set", func() error {
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
		})
	}
	var recs []state.Record
	err := s.retry(s.work, "load state", func() (err error) {
		recs, err = s.p.Store.Load(s.work, ids)
		return err
	})
	wg.Wait()
	if err == nil {
		err = idxErr
	}
	return recs, x, err
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
