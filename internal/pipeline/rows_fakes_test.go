package pipeline

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
)

// Messages of email-keyed rows, for email changes and deletes: the key is
// the row's primary key, the value "email=<e>;v=<n>", with "before=<e>" for
// a before image, or "op=d" (and maybe "email=<e>") for a delete.

// rowMsg is the message at offset off of partition part: row key sets its
// email and v.
func rowMsg(part int, off int64, key, email string, v int) change.Message {
	return change.Message{
		Pos: change.Position{Topic: "users", Partition: part, Offset: off},
		Key: []byte(key), Value: fmt.Appendf(nil, "email=%s;v=%d", email, v),
	}
}

// movedMsg is rowMsg carrying a before image with the row's old email.
func movedMsg(part int, off int64, key, before, email string, v int) change.Message {
	m := rowMsg(part, off, key, email, v)
	m.Value = fmt.Appendf(nil, "before=%s;%s", before, m.Value)
	return m
}

// delMsg deletes row key; email, when not empty, is in its before image.
func delMsg(part int, off int64, key, email string) change.Message {
	v := "op=d"
	if email != "" {
		v += ";email=" + email
	}
	return change.Message{Pos: change.Position{Topic: "users", Partition: part, Offset: off}, Key: []byte(key), Value: []byte(v)}
}

func decodeRowMsg(value []byte) (change.Row, bool) {
	s := string(value)
	if !strings.Contains(s, "=") {
		return change.Row{}, false
	}
	row := change.Row{Op: change.OpUpsert, Fields: map[string]any{}}
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "op":
			row.Op = change.OpDelete
		case "before":
			row.Before = map[string]any{"email": v}
		default:
			row.Fields[k] = v
		}
	}
	return row, true
}

func mapRowMsg(row change.Row, pos change.Position) change.UserChange {
	uc := change.UserChange{Pos: pos}
	if e, ok := row.Fields["email"].(string); ok {
		uc.User = change.Identifier{Kind: change.Email, Value: e}
	}
	if row.Op == change.OpDelete {
		uc.Delete = true
		return uc
	}
	uc.Attrs = []change.Attr{{Name: "v", JSON: []byte(row.Fields["v"].(string))}}
	if b, ok := row.Before["email"].(string); ok && b != uc.User.Value {
		uc.From = change.Identifier{Kind: change.Email, Value: b}
	}
	return uc
}

// write is one user's value as the fake Iterable accepted it.
type write struct {
	user string
	v    int
	at   time.Time
}

// rowsAPI is the part of the fake Iterable that email changes and deletes
// use: it moves profiles, deletes them after deleteDelay (writes meanwhile
// vanish with them, as in Iterable), and counts every call.
type rowsAPI struct {
	deleteDelay time.Duration
	// refuseMove, when set, answers updateEmail with its error.
	refuseMove func(from, to string) error
	deleting   map[string]time.Time // user → when its deletion takes effect
	writes     []write
	moves      []string // "from>to" of every updateEmail
	deletes    []string
	lookups    int
	// emailOut counts updateEmail calls made while a bulkUpdate for one of
	// their emails was out, and bulkOut the reverse: both must stay 0.
	emailOut int
}

func (f *fakeAPI) UpdateEmail(_ context.Context, current change.Identifier, newEmail string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyDeletions()
	f.moves = append(f.moves, current.Value+">"+newEmail)
	if f.inFlight[current.Value] || f.inFlight[newEmail] {
		f.emailOut++
	}
	if f.refuseMove != nil {
		if err := f.refuseMove(current.Value, newEmail); err != nil {
			return err
		}
	}
	v, ok := f.profiles[current.Value]
	switch {
	case !ok:
		return fmt.Errorf("%w: %w", &iterable.APIError{Status: 400, Code: "BadParams", Endpoint: iterable.EndpointUpdateEmail}, iterable.ErrUserNotFound)
	case current.Value == newEmail:
		return nil
	}
	if _, taken := f.profiles[newEmail]; taken {
		return fmt.Errorf("%w: %w", &iterable.APIError{Status: 409, Code: iterable.CodeEmailExists, Endpoint: iterable.EndpointUpdateEmail}, iterable.ErrEmailTaken)
	}
	delete(f.profiles, current.Value)
	f.profiles[newEmail] = v
	return nil
}

func (f *fakeAPI) DeleteUser(_ context.Context, id change.Identifier) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyDeletions()
	f.deletes = append(f.deletes, id.Value)
	if _, ok := f.profiles[id.Value]; !ok {
		return false, nil
	}
	if f.deleting == nil {
		f.deleting = map[string]time.Time{}
	}
	f.deleting[id.Value] = time.Now().Add(f.deleteDelay)
	f.applyDeletions()
	return true, nil
}

// applyDeletions removes the profiles whose deletion is due; f.mu is held.
func (f *fakeAPI) applyDeletions() {
	now := time.Now()
	for u, due := range f.deleting {
		if !due.After(now) {
			delete(f.profiles, u)
			delete(f.deleting, u)
		}
	}
}

// found reports whether Iterable has the user now.
func (f *fakeAPI) found(id change.Identifier) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyDeletions()
	_, ok := f.profiles[id.Value]
	return ok, nil
}

// state returns every profile as "user=v", sorted, after due deletions.
func (f *fakeAPI) state() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applyDeletions()
	var out []string
	for u, v := range f.profiles {
		out = append(out, u+"="+strconv.Itoa(v))
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}
