package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Profile is a snapshot of one simulated user profile.
//
// DataFields holds what the project stored: longs as int64, doubles as
// float64, dates normalised to IterableDateLayout, objects as map[string]any,
// arrays as []any. Iterable-managed fields (signupDate, profileUpdatedAt, …)
// are not in it; lookups add them to their answer.
type Profile struct {
	Email      string         `json:"email,omitempty"`
	UserID     string         `json:"userId,omitempty"`
	DataFields map[string]any `json:"dataFields"`
	Created    time.Time      `json:"created"`
	Updated    time.Time      `json:"updated"`
	// UpdatedCount counts accepted bulkUpdate writes to the profile, the one
	// that created it included; seeding does not count.
	UpdatedCount int `json:"updatedCount"`
}

// key is how Profiles indexes a profile: its email, else its userId.
func (p Profile) key() string {
	if p.Email != "" {
		return p.Email
	}
	return p.UserID
}

// profile is the stored form, guarded by Server.mu.
type profile struct {
	email, userID    string
	fields           map[string]any
	created, updated time.Time
	updates          int
}

func (p *profile) snapshot() Profile {
	return Profile{
		Email:        p.email,
		UserID:       p.userID,
		DataFields:   copyFields(p.fields),
		Created:      p.created,
		Updated:      p.updated,
		UpdatedCount: p.updates,
	}
}

// store is the project: profiles indexed by each identifier, the field
// schema, and the GDPR-forgotten identifiers. It is guarded by Server.mu.
type store struct {
	byEmail          map[string]*profile // lowercased email → profile
	byUserID         map[string]*profile // exact userId → profile
	schema           map[string]FieldType
	forgottenEmails  map[string]bool
	forgottenUserIDs map[string]bool
}

func (st *store) init() {
	*st = store{
		byEmail:          map[string]*profile{},
		byUserID:         map[string]*profile{},
		schema:           map[string]FieldType{},
		forgottenEmails:  map[string]bool{},
		forgottenUserIDs: map[string]bool{},
	}
}

// all returns every profile once.
func (st *store) all() []*profile {
	out := make([]*profile, 0, len(st.byEmail)+len(st.byUserID))
	for _, p := range st.byEmail {
		out = append(out, p)
	}
	for _, p := range st.byUserID {
		if p.email == "" {
			out = append(out, p)
		}
	}
	return out
}

func (st *store) count() int {
	n := len(st.byEmail)
	for _, p := range st.byUserID {
		if p.email == "" {
			n++
		}
	}
	return n
}

// lookup finds a profile by an identifier that may be an email or a userId.
func (st *store) lookup(id string) *profile {
	if p := st.byEmail[normalizeEmail(id)]; p != nil {
		return p
	}
	return st.byUserID[id]
}

func (st *store) setEmail(p *profile, email string) {
	if p.email == email {
		return
	}
	if p.email != "" {
		delete(st.byEmail, p.email)
	}
	p.email = email
	if email != "" {
		st.byEmail[email] = p
	}
}

func (st *store) setUserID(p *profile, userID string) {
	if p.userID == userID {
		return
	}
	if p.userID != "" {
		delete(st.byUserID, p.userID)
	}
	p.userID = userID
	if userID != "" {
		st.byUserID[userID] = p
	}
}

func (st *store) remove(p *profile) {
	st.setEmail(p, "")
	st.setUserID(p, "")
}

// Profiles returns a snapshot of every profile, keyed by its email if it has
// one, else by its userId.
func (s *Server) Profiles() map[string]Profile {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyDeletions()
	out := make(map[string]Profile, s.st.count())
	for _, p := range s.st.all() {
		snap := p.snapshot()
		out[snap.key()] = snap
	}
	return out
}

// Profile returns the profile identified by id: an email (any case) or a
// userId.
func (s *Server) Profile(id string) (Profile, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyDeletions()
	p := s.st.lookup(id)
	if p == nil {
		return Profile{}, false
	}
	return p.snapshot(), true
}

// Fields returns the project's field schema: every field path (nested fields
// dotted) with the type its first value fixed.
func (s *Server) Fields() map[string]FieldType {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copySchema(s.st.schema)
}

// WriteProfiles writes every profile as one JSON object keyed like Profiles,
// for dumps and the /_sim/profiles endpoint.
func (s *Server) WriteProfiles(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s.Profiles()); err != nil {
		return fmt.Errorf("sim: write profiles: %w", err)
	}
	return nil
}

// Forget GDPR-forgets a user, like POST /api/users/forget: the profile with
// that email or userId is deleted, and both its identifiers are refused from
// then on (bulkUpdate lists them in failedUpdates.forgottenEmails /
// forgottenUserIds). An id that matches no profile is remembered as a
// forgotten email if it is a valid one, and as a forgotten userId if it is a
// valid one.
func (s *Server) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.st.lookup(id); p != nil {
		if p.email != "" {
			s.st.forgottenEmails[p.email] = true
		}
		if p.userID != "" {
			s.st.forgottenUserIDs[p.userID] = true
		}
		s.st.remove(p)
		return
	}
	if validEmail(id) {
		s.st.forgottenEmails[normalizeEmail(id)] = true
	}
	if validUserID(id) {
		s.st.forgottenUserIDs[id] = true
	}
}

// SeedUser creates (or updates) a profile directly, as test set-up. fields
// take any JSON-encodable Go values; they pass through the same typing as
// bulkUpdate (fixing the type of new fields) and a type conflict is an error.
// Seeding is not counted in Stats or Requests. Either email or userID may be
// empty, not both.
func (s *Server) SeedUser(email, userID string, fields map[string]any) error {
	if email == "" && userID == "" {
		return errors.New("sim: seed user: need an email or a userId")
	}
	if email != "" && !validEmail(email) {
		return fmt.Errorf("sim: seed user: invalid email %q", email)
	}
	if userID != "" && !validUserID(userID) {
		return fmt.Errorf("sim: seed user: invalid userId %q", userID)
	}
	email = normalizeEmail(email)
	data, err := jsonRoundTrip(fields)
	if err != nil {
		return fmt.Errorf("sim: seed user %s: %w", cmpStr(email, userID), err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.forgottenEmails[email] || s.st.forgottenUserIDs[userID] {
		return fmt.Errorf("sim: seed user %s: identifier is GDPR-forgotten", cmpStr(email, userID))
	}
	tc := newTypeCheck(s.st.schema, true)
	tc.fields(data)
	if len(tc.mismatches) > 0 {
		return fmt.Errorf("sim: seed user %s: %s", cmpStr(email, userID), mismatchMessage(tc.mismatches))
	}
	var p *profile
	if email != "" {
		p = s.st.byEmail[email]
	} else {
		p = s.st.byUserID[userID]
	}
	if userID != "" {
		if other := s.st.byUserID[userID]; other != nil && other != p {
			return fmt.Errorf("sim: seed user %s: userId belongs to another profile", cmpStr(email, userID))
		}
	}
	now := s.now()
	if p == nil {
		p = &profile{fields: map[string]any{}, created: now}
		s.st.setEmail(p, email)
	}
	s.st.setUserID(p, cmpStr(userID, p.userID))
	conv := &converter{tc: tc, used: map[string]bool{}}
	for k, v := range data {
		if isIdentityKey(k) {
			continue
		}
		if cv, ok := conv.value(k, v); ok && cv != nil {
			p.fields[k] = stripNulls(cv)
		}
	}
	maps.Copy(s.st.schema, tc.pending)
	p.updated = now
	return nil
}

// jsonRoundTrip turns Go values into what the JSON decoder produces for a
// request body (json.Number for numbers), so seeded values are typed exactly
// like sent ones.
func jsonRoundTrip(fields map[string]any) (map[string]any, error) {
	if fields == nil {
		return map[string]any{}, nil
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("encode fields: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("decode fields: %w", err)
	}
	return out, nil
}

// cmpStr returns a if it is not empty, else b.
func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// mismatchMessage words type conflicts the way Iterable's
// RequestFieldsTypesMismatched message does.
func mismatchMessage(m map[string]typeMismatch) string {
	paths := slices.Sorted(maps.Keys(m))
	parts := make([]string, 0, len(paths))
	for _, p := range paths {
		e := m[p]
		parts = append(parts, fmt.Sprintf("Field '%s' already exists for type 'user' and has a data type of '%s' but possible types '%s' in the request.",
			p, e.ExpectedType, strings.Join(e.IncomingTypes, ", ")))
	}
	return "The request does not have the same data types as the data previously submitted. " + strings.Join(parts, " ")
}
