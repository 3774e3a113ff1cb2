package sim

import (
	"net/http"
)

// The lookups answer Iterable's UserResponse: {"user": ApiResponseUser} for
// a known user and {} for an unknown (or forgotten) one, with status 200 in
// both cases, as recorded for getByEmail. Iterable does not document the
// byUserId miss; it is answered the same way, which is what the shared
// UserResponse definition allows.

func (s *Server) handleGetByEmail(w http.ResponseWriter, r *http.Request, rec *Request) {
	s.lookupEmail(w, rec, r.URL.Query().Get("email"))
}

func (s *Server) handleGetByEmailPath(w http.ResponseWriter, r *http.Request, rec *Request) {
	s.lookupEmail(w, rec, r.PathValue("email"))
}

func (s *Server) handleByUserID(w http.ResponseWriter, r *http.Request, rec *Request) {
	s.lookupUserID(w, rec, r.URL.Query().Get("userId"))
}

func (s *Server) handleByUserIDPath(w http.ResponseWriter, r *http.Request, rec *Request) {
	s.lookupUserID(w, rec, r.PathValue("userId"))
}

// lookupEmail finds a user by email, case-insensitively since Iterable stores
// emails lowercased. A malformed email is a 400 InvalidEmailAddressError, the
// code Iterable answers single-user calls with, rather than a silent {}: a
// client that looks up garbage has a bug.
func (s *Server) lookupEmail(w http.ResponseWriter, rec *Request, email string) {
	rec.Users = 1
	if email == "" {
		s.writeError(w, rec, http.StatusBadRequest, "BadParams", "email is required", nil)
		return
	}
	if !validEmail(email) {
		s.writeError(w, rec, http.StatusBadRequest, "InvalidEmailAddressError", "Invalid email: "+email, nil)
		return
	}
	s.mu.Lock()
	p := s.st.byEmail[normalizeEmail(email)]
	body := userResponse(p)
	s.mu.Unlock()
	s.writeJSON(w, rec, http.StatusOK, body)
}

// lookupUserID finds a user by exact (case-sensitive) userId.
func (s *Server) lookupUserID(w http.ResponseWriter, rec *Request, userID string) {
	rec.Users = 1
	if userID == "" {
		s.writeError(w, rec, http.StatusBadRequest, "BadParams", "userId is required", nil)
		return
	}
	s.mu.Lock()
	body := userResponse(s.st.byUserID[userID])
	s.mu.Unlock()
	s.writeJSON(w, rec, http.StatusOK, body)
}

// userResponse builds the answer for p (nil: absent). As in recorded
// responses, dataFields also carries the Iterable-managed fields (email,
// userId, signupDate, signupSource, profileUpdatedAt). The Swagger definition
// requires user.email; a userId-only profile of a hybrid project has none, so
// it is answered as "".
func userResponse(p *profile) map[string]any {
	if p == nil {
		return map[string]any{}
	}
	df := copyFields(p.fields)
	if p.email != "" {
		df["email"] = p.email
	}
	if p.userID != "" {
		df["userId"] = p.userID
	}
	df["signupDate"] = formatDate(p.created)
	df["signupSource"] = "API"
	df["profileUpdatedAt"] = formatDate(p.updated)
	user := map[string]any{"email": p.email, "dataFields": df}
	if p.userID != "" {
		user["userId"] = p.userID
	}
	return map[string]any{"user": user}
}
