package mapping

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// ErrIgnored is returned, wrapped with the reason, for a row that asks
// nothing of Iterable by rule: a delete under on_delete "ignore", a delete
// without a row, or a message the decoder marked OpSkip. The caller counts
// it as skipped; it is not a failure.
var ErrIgnored = errors.New("ignored")

// Mapper maps rows of one sync onto Iterable user changes. It is immutable
// and safe for concurrent use.
type Mapper struct {
	id          identifier
	attrs       []attribute
	unset       bool
	del         bool // on_delete: delete
	unavailable placeholder
	fields      []string
	ignored     error // the wrapped ErrIgnored for deletes, built once
	noRowDel    error
}

// New compiles a mapping. Every problem found is reported, each prefixed
// with its config path.
func New(cfg Config) (*Mapper, error) {
	var errs []error
	m := &Mapper{
		ignored:  fmt.Errorf("delete (on_delete: ignore): %w", ErrIgnored),
		noRowDel: fmt.Errorf("delete without a row (tombstone): %w", ErrIgnored),
	}
	ph, err := newPlaceholder(cfg.UnavailableValue)
	if err != nil {
		errs = append(errs, err)
	}
	m.unavailable = ph
	switch cfg.OnDelete {
	case "", OnDeleteIgnore:
	case OnDeleteUnset:
		m.unset = true
	case OnDeleteDelete:
		m.del = true
	default:
		errs = append(errs, fmt.Errorf("source.on_delete: %q is not ignore, unset or delete", cfg.OnDelete))
	}
	id, err := newIdentifier(cfg.Identifier)
	if err != nil {
		errs = append(errs, err)
	}
	m.id = id
	if len(cfg.Attributes) == 0 {
		errs = append(errs, errors.New("iterable.attributes: at least one attribute is required"))
	}
	targets := make(map[string]int, len(cfg.Attributes))
	for i, ac := range cfg.Attributes {
		a, err := newAttribute(ac)
		if err != nil {
			errs = append(errs, fmt.Errorf("iterable.attributes[%d].%w", i, err))
			continue
		}
		if j, dup := targets[a.name]; dup {
			errs = append(errs, fmt.Errorf("iterable.attributes[%d].to: %q is also the target of attributes[%d]", i, a.name, j))
			continue
		}
		targets[a.name] = i
		m.attrs = append(m.attrs, a)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m.fields = topLevel(m.id.path, m.attrs)
	for i := range m.attrs {
		m.attrs[i].col = slices.Index(m.fields, m.attrs[i].path[0])
	}
	return m, nil
}

// SourceFields lists the top-level row fields the mapping reads, for
// cdc.OnlyFields: a decoder need not build any other. The identifier's
// field comes first. A row decoded by index (cdc.ByIndex) holds them in
// this order, which the mapper reads them by.
func (m *Mapper) SourceFields() []string { return append([]string(nil), m.fields...) }

func topLevel(idPath path, attrs []attribute) []string {
	seen := map[string]bool{idPath[0]: true}
	out := []string{idPath[0]}
	for _, a := range attrs {
		if f := a.path[0]; !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// Map turns one row into the change it asks of one user. An error is either
// ErrIgnored (wrapped; see there) or a *change.Failure of class identifier
// or convert, which sends the message to the DLQ.
//
// Under on_delete delete, a delete whose row does not hold the identifier
// (a tombstone, or a before image of the key columns only, which is what
// Postgres sends under REPLICA IDENTITY DEFAULT) maps to a Delete with a
// zero User: the pipeline finds the user the message key last named. An
// update whose before image holds another identifier (an email change, with
// identifier.as email) says so in From.
func (m *Mapper) Map(row change.Row, pos change.Position) (change.UserChange, error) {
	switch row.Op {
	case change.OpUpsert:
	case change.OpDelete:
		if m.del {
			return m.delete(row, pos)
		}
		if !m.unset {
			return change.UserChange{}, m.ignored
		}
		if len(row.Fields) == 0 {
			return change.UserChange{}, m.noRowDel
		}
	case change.OpSkip:
		return change.UserChange{}, fmt.Errorf("%s message: %w", row.Skip, ErrIgnored)
	default:
		return change.UserChange{}, fmt.Errorf("mapping: row has no valid op (%d)", row.Op)
	}
	user, err := m.id.read(&row, false, &m.unavailable)
	if err != nil {
		return change.UserChange{}, err
	}
	uc := change.UserChange{User: user, Pos: pos, SourceTime: row.SourceTime}
	if row.Op == change.OpDelete {
		uc.Attrs = m.unsetAll()
		uc.Forget = true
		return uc, nil
	}
	if uc.Attrs, err = m.convertAll(&row); err != nil {
		return change.UserChange{}, err
	}
	if m.id.kind == change.Email && row.HasBefore() && !m.id.unchanged(&row, &m.unavailable) {
		// A before image whose email cannot be read says nothing reliable
		// about where the profile is; the state may still know.
		if prev, err := m.id.read(&row, true, &m.unavailable); err == nil && prev != user {
			uc.From = prev
		}
	}
	return uc, nil
}

// delete maps a delete under on_delete delete.
func (m *Mapper) delete(row change.Row, pos change.Position) (change.UserChange, error) {
	uc := change.UserChange{Pos: pos, SourceTime: row.SourceTime, Delete: true}
	if x, present, err := m.id.path.read(&row, false, idCol, &m.unavailable); err == nil && (!present || x.null()) {
		return uc, nil // unidentified: the pipeline resolves it by key
	}
	user, err := m.id.read(&row, false, &m.unavailable)
	if err != nil {
		return change.UserChange{}, err
	}
	uc.User = user
	return uc, nil
}

// unsetAll returns every mapped attribute as JSON null.
func (m *Mapper) unsetAll() []change.Attr {
	buf := []byte(strings.Repeat("null", len(m.attrs)))
	attrs := make([]change.Attr, len(m.attrs))
	for i, a := range m.attrs {
		attrs[i] = change.Attr{Name: a.name, JSON: buf[4*i : 4*i+4 : 4*i+4]}
	}
	return attrs
}

// convertAll encodes every present attribute into one buffer, then slices
// it: one allocation for all values instead of one per value.
func (m *Mapper) convertAll(row *change.Row) ([]change.Attr, error) {
	var endsArr [32]int
	ends := endsArr[:0]
	buf := make([]byte, 0, 24*len(m.attrs))
	present := make([]change.Attr, 0, len(m.attrs))
	for i := range m.attrs {
		a := &m.attrs[i]
		var (
			ok  bool
			err error
		)
		buf, ok, err = a.appendValue(buf, row, &m.unavailable)
		if err != nil {
			return nil, err
		}
		if ok {
			present = append(present, change.Attr{Name: a.name})
			ends = append(ends, len(buf))
		}
	}
	start := 0
	for i, end := range ends {
		// The capacity limit keeps an append to one value from
		// overwriting the next.
		present[i].JSON = buf[start:end:end]
		start = end
	}
	return present, nil
}
