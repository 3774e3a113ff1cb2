package sim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// BulkUpdateRequest is a decoded POST /api/users/bulkUpdate body
// (Iterable's BulkUpdateUsersRequest, plus the undocumented updateOnly flag).
// Pointers tell an absent member from a zero one.
type BulkUpdateRequest struct {
	Users           []BulkUser `json:"users"`
	CreateNewFields *bool      `json:"createNewFields,omitempty"`
	UpdateOnly      *bool      `json:"updateOnly,omitempty"`
}

// BulkUser is one element of BulkUpdateRequest.Users (Iterable's
// OptionalApiUser). DataFields numbers are json.Number, as decoded.
type BulkUser struct {
	Email              *string        `json:"email,omitempty"`
	UserID             *string        `json:"userId,omitempty"`
	DataFields         map[string]any `json:"dataFields,omitempty"`
	PreferUserID       *bool          `json:"preferUserId,omitempty"`
	MergeNestedObjects *bool          `json:"mergeNestedObjects,omitempty"`
}

// BulkUpdateResponse is the 200 answer to bulkUpdate (Iterable's
// UserBulkUpdateListResponse). Every list is present, empty rather than
// null, so clients never have to tell the two apart.
type BulkUpdateResponse struct {
	SuccessCount      int           `json:"successCount"`
	FailCount         int           `json:"failCount"`
	FailedUpdates     FailedUpdates `json:"failedUpdates"`
	FilteredOutFields []string      `json:"filteredOutFields"`
	CreatedFields     []string      `json:"createdFields"`
	// InvalidEmails and InvalidUserIds are deprecated by Iterable; they
	// repeat failedUpdates.invalidEmails and invalidUserIds, as in
	// recorded responses.
	InvalidEmails  []string `json:"invalidEmails"`
	InvalidUserIds []string `json:"invalidUserIds"`
}

// FailedUpdates lists, per reason, the identifiers of users bulkUpdate did not
// apply (Iterable's FailedUserUpdates). A user failing twice in one request is
// listed twice.
type FailedUpdates struct {
	ConflictEmails     []string `json:"conflictEmails"`
	ConflictUserIds    []string `json:"conflictUserIds"`
	ForgottenEmails    []string `json:"forgottenEmails"`
	ForgottenUserIds   []string `json:"forgottenUserIds"`
	InvalidDataEmails  []string `json:"invalidDataEmails"`
	InvalidDataUserIds []string `json:"invalidDataUserIds"`
	InvalidEmails      []string `json:"invalidEmails"`
	InvalidUserIds     []string `json:"invalidUserIds"`
	NotFoundEmails     []string `json:"notFoundEmails"`
	NotFoundUserIds    []string `json:"notFoundUserIds"`
}

func newBulkUpdateResponse() BulkUpdateResponse {
	e := func() []string { return []string{} }
	return BulkUpdateResponse{
		FailedUpdates: FailedUpdates{
			ConflictEmails: e(), ConflictUserIds: e(), ForgottenEmails: e(), ForgottenUserIds: e(),
			InvalidDataEmails: e(), InvalidDataUserIds: e(), InvalidEmails: e(), InvalidUserIds: e(),
			NotFoundEmails: e(), NotFoundUserIds: e(),
		},
		FilteredOutFields: e(), CreatedFields: e(), InvalidEmails: e(), InvalidUserIds: e(),
	}
}

// bulkWire is the decoding target; Users is a pointer so that a missing
// "users" member, which the Swagger definition requires, can be refused.
type bulkWire struct {
	Users           *[]BulkUser `json:"users"`
	CreateNewFields *bool       `json:"createNewFields"`
	UpdateOnly      *bool       `json:"updateOnly"`
}

func (s *Server) handleBulkUpdate(w http.ResponseWriter, r *http.Request, rec *Request) {
	if r.ContentLength > s.maxBody {
		rec.BodyBytes = int(r.ContentLength)
		s.writeTooLarge(w, rec)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	rec.BodyBytes = len(body)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			s.writeTooLarge(w, rec)
			return
		}
		s.writeError(w, rec, http.StatusBadRequest, "BadJsonBody", "[/api/users/bulkUpdate] Could not read body",
			map[string]any{"error": err.Error()})
		return
	}

	req, params := decodeBulk(body)
	if params != nil {
		s.writeError(w, rec, http.StatusBadRequest, "BadJsonBody", "[/api/users/bulkUpdate] Invalid JSON body", params)
		return
	}
	rec.Users = len(req.Users)
	rec.Bulk = req
	if code, msg, params, ok := s.faults.refusal(EndpointBulkUpdate, req.Users); ok {
		rec.Fault = "refuse-value"
		s.writeError(w, rec, http.StatusBadRequest, code, msg, params)
		return
	}

	createNew := s.createNew
	if req.CreateNewFields != nil {
		createNew = *req.CreateNewFields
	}
	// updateOnly is honoured only where Iterable enabled it for the account;
	// elsewhere it is an unknown member and ignored (see Options).
	updateOnly := s.opts.UpdateOnlyEnabled && req.UpdateOnly != nil && *req.UpdateOnly

	resp, mismatches := s.applyBulk(req.Users, createNew, updateOnly)
	if mismatches != nil {
		s.writeError(w, rec, http.StatusBadRequest, "RequestFieldsTypesMismatched",
			"Project 1: "+mismatchMessage(mismatches),
			map[string]any{"validationErrors": mismatches})
		return
	}
	s.writeJSON(w, rec, http.StatusOK, resp)
}

// writeTooLarge answers a body over the limit. Iterable documents the 4MB
// limit but not the answer; 413 with the enum's BatchTooLarge code is what an
// HTTP front end and Iterable's vocabulary would say, and it is a permanent
// 4xx for attrsync, which is right: resending the same body cannot succeed.
func (s *Server) writeTooLarge(w http.ResponseWriter, rec *Request) {
	s.writeError(w, rec, http.StatusRequestEntityTooLarge, "BatchTooLarge",
		fmt.Sprintf("Request body exceeds the maximum of %d bytes", s.maxBody),
		map[string]any{"maxBytes": s.maxBody})
}

// decodeBulk parses a body, or returns Iterable-style BadJsonBody params
// naming what is wrong ("obj.users" …).
func decodeBulk(body []byte) (*BulkUpdateRequest, map[string]any) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var wire bulkWire
	if err := dec.Decode(&wire); err != nil {
		if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
			path := "obj"
			if te.Field != "" {
				path += "." + te.Field
			}
			return nil, map[string]any{path: strings.TrimPrefix(te.Type.String(), "*") + " value expected, got JSON " + te.Value}
		}
		return nil, map[string]any{"obj": err.Error()}
	}
	if dec.More() {
		return nil, map[string]any{"obj": "unexpected data after the JSON object"}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, map[string]any{"obj": "unexpected data after the JSON object"}
	}
	if wire.Users == nil {
		return nil, map[string]any{"obj.users": "error.path.missing"}
	}
	return &BulkUpdateRequest{Users: *wire.Users, CreateNewFields: wire.CreateNewFields, UpdateOnly: wire.UpdateOnly}, nil
}

// applyBulk applies the users of one request atomically with respect to other
// requests. Every user's dataFields are type-checked first, whatever their
// identifiers, because Iterable refuses the whole request on a type conflict
// (400 RequestFieldsTypesMismatched): then mismatches is non-nil and nothing
// has changed. Otherwise users are applied in request order, so a user sent
// twice ends with its last values.
func (s *Server) applyBulk(users []BulkUser, createNew, updateOnly bool) (BulkUpdateResponse, map[string]typeMismatch) {
	s.mu.Lock()
	defer s.mu.Unlock()

	tc := newTypeCheck(s.st.schema, createNew)
	for _, u := range users {
		tc.fields(u.DataFields)
	}
	if len(tc.mismatches) > 0 {
		s.stats.typeMismatches++
		return BulkUpdateResponse{}, tc.mismatches
	}

	resp := newBulkUpdateResponse()
	b := &bulkApply{s: s, conv: &converter{tc: tc, used: map[string]bool{}}, resp: &resp, updateOnly: updateOnly}
	for _, u := range users {
		b.user(u)
	}

	// Only new fields some accepted user actually wrote join the schema: a
	// field sent solely for users that failed was never created.
	for _, path := range slices.Sorted(maps.Keys(tc.pending)) {
		if b.conv.used[path] {
			s.st.schema[path] = tc.pending[path]
			resp.CreatedFields = append(resp.CreatedFields, path)
		}
	}
	resp.FilteredOutFields = append(resp.FilteredOutFields, slices.Sorted(maps.Keys(tc.filtered))...)
	resp.InvalidEmails = append(resp.InvalidEmails, resp.FailedUpdates.InvalidEmails...)
	resp.InvalidUserIds = append(resp.InvalidUserIds, resp.FailedUpdates.InvalidUserIds...)
	s.stats.usersFailed += resp.FailCount
	return resp, nil
}

// bulkApply carries the state of applying one request; Server.mu is held.
type bulkApply struct {
	s          *Server
	conv       *converter
	resp       *BulkUpdateResponse
	updateOnly bool
}

func (b *bulkApply) fail(list *[]string, id string) {
	*list = append(*list, id)
	b.resp.FailCount++
}

// user applies one request user. The project is hybrid: a user is identified
// by email when one is given, else by userId; when both are given the email
// identifies and the userId is set on the profile. A userId-only user that
// does not exist is created whatever preferUserId says, because preferUserId
// is only respected in email-based projects.
func (b *bulkApply) user(u BulkUser) {
	st := &b.s.st
	fu := &b.resp.FailedUpdates

	email, emailGiven := nonEmpty(u.Email)
	userID, uidGiven := nonEmpty(u.UserID)
	switch {
	case !emailGiven && !uidGiven:
		// Nothing identifies the user. Iterable does not say which bucket
		// that lands in; an empty identifier is "malformed".
		if u.Email != nil {
			b.fail(&fu.InvalidEmails, "")
		} else {
			b.fail(&fu.InvalidUserIds, "")
		}
		return
	case emailGiven && !validEmail(email):
		b.fail(&fu.InvalidEmails, email)
		return
	case uidGiven && !validUserID(userID):
		b.fail(&fu.InvalidUserIds, userID)
		return
	}
	email = normalizeEmail(email)

	// dataFields.email and dataFields.userId change the identifiers of a
	// hybrid-project user rather than being data.
	newEmail, newUID, ok := b.identityChanges(u.DataFields)
	if !ok {
		return
	}

	switch {
	case emailGiven && st.forgottenEmails[email]:
		b.fail(&fu.ForgottenEmails, email)
		return
	case uidGiven && st.forgottenUserIDs[userID]:
		b.fail(&fu.ForgottenUserIds, userID)
		return
	}

	var p *profile
	if emailGiven {
		p = st.byEmail[email]
	} else {
		p = st.byUserID[userID]
	}
	if uidGiven && emailGiven {
		if other := st.byUserID[userID]; other != nil && other != p {
			b.fail(&fu.ConflictUserIds, userID)
			return
		}
	}
	if newEmail != "" {
		if other := st.byEmail[newEmail]; other != nil && other != p {
			b.fail(&fu.ConflictEmails, newEmail)
			return
		}
	}
	if newUID != "" {
		if other := st.byUserID[newUID]; other != nil && other != p {
			b.fail(&fu.ConflictUserIds, newUID)
			return
		}
	}

	now := b.s.now()
	created := false
	if p == nil {
		if b.updateOnly {
			if emailGiven {
				b.fail(&fu.NotFoundEmails, email)
			} else {
				b.fail(&fu.NotFoundUserIds, userID)
			}
			return
		}
		p = &profile{fields: map[string]any{}, created: now}
		created = true
	}

	b.checkVersion(p, u.DataFields, created)
	merge := u.MergeNestedObjects != nil && *u.MergeNestedObjects
	for k, v := range u.DataFields {
		if isIdentityKey(k) {
			continue
		}
		cv, ok := b.conv.value(k, v)
		if !ok {
			continue // filtered out: createNewFields is false
		}
		storeField(p.fields, k, cv, merge)
	}

	if emailGiven {
		st.setEmail(p, email)
	}
	if uidGiven {
		st.setUserID(p, userID)
	}
	if newEmail != "" {
		st.setEmail(p, newEmail)
	}
	if newUID != "" {
		st.setUserID(p, newUID)
	}
	p.updated = now
	p.updates++
	b.resp.SuccessCount++
	if created {
		b.s.stats.usersCreated++
	} else {
		b.s.stats.usersUpdated++
	}
}

// identityChanges validates dataFields.email / dataFields.userId. It records
// the failure and returns ok=false for a malformed one.
func (b *bulkApply) identityChanges(data map[string]any) (newEmail, newUID string, ok bool) {
	fu := &b.resp.FailedUpdates
	if v, present := data["email"]; present && v != nil {
		s, isStr := v.(string)
		if !isStr || !validEmail(s) {
			b.fail(&fu.InvalidEmails, fmt.Sprint(v))
			return "", "", false
		}
		newEmail = normalizeEmail(s)
	}
	if v, present := data["userId"]; present && v != nil {
		s, isStr := v.(string)
		if !isStr || !validUserID(s) {
			b.fail(&fu.InvalidUserIds, fmt.Sprint(v))
			return "", "", false
		}
		newUID = s
	}
	return newEmail, newUID, true
}

// checkVersion counts an order regression when an accepted update carries a
// lower Options.VersionField than the profile already holds.
func (b *bulkApply) checkVersion(p *profile, data map[string]any, created bool) {
	field := b.s.opts.VersionField
	if field == "" || created {
		return
	}
	incoming, ok := number(data[field])
	if !ok {
		return
	}
	current, ok := number(p.fields[field])
	if ok && incoming < current {
		b.s.stats.orderRegressions++
		b.s.log.Warn("sim: order regression", "field", field, "current", current, "incoming", incoming)
	}
}

// storeField writes one converted top-level value: null removes the field;
// with merge, an object is merged key by key into an existing object (a null
// member removes that key); otherwise the value replaces what was there.
func storeField(fields map[string]any, k string, v any, merge bool) {
	if v == nil {
		delete(fields, k)
		return
	}
	if obj, isObj := v.(map[string]any); isObj && merge {
		if old, oldObj := fields[k].(map[string]any); oldObj {
			for sk, sv := range obj {
				if sv == nil {
					delete(old, sk)
				} else {
					old[sk] = stripNulls(sv)
				}
			}
			return
		}
	}
	fields[k] = stripNulls(v)
}

func isIdentityKey(k string) bool { return k == "email" || k == "userId" }

func nonEmpty(p *string) (string, bool) {
	if p == nil || *p == "" {
		return "", false
	}
	return *p, true
}

// number reads a numeric value as sent (json.Number) or stored (int64,
// float64).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return f, err == nil
	case int64:
		return float64(x), true
	case float64:
		return x, true
	default:
		return 0, false
	}
}
