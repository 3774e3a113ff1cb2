package sim

import (
	"net/http"
	"time"
)

// deletion is an accepted delete that has not taken effect yet.
type deletion struct {
	p   *profile
	due time.Time
}

func (s *Server) handleDeleteByEmail(w http.ResponseWriter, r *http.Request, rec *Request) {
	email := r.PathValue("email")
	rec.Users = 1
	if !validEmail(email) {
		s.writeError(w, rec, http.StatusBadRequest, "InvalidEmailAddressError", "Invalid email: "+email, nil)
		return
	}
	s.deleteUser(w, rec, func() *profile { return s.st.byEmail[normalizeEmail(email)] })
}

func (s *Server) handleDeleteByUserID(w http.ResponseWriter, r *http.Request, rec *Request) {
	rec.Users = 1
	userID := r.PathValue("userId")
	s.deleteUser(w, rec, func() *profile { return s.st.byUserID[userID] })
}

// deleteUser accepts the deletion of the profile find returns (Server.mu is
// held while it runs). Iterable deletes asynchronously: the answer is 200 at
// once, and the profile stays readable and writable for Options.DeleteDelay,
// after which it is gone together with whatever was written to it
// meanwhile. Deleting a user already queued for deletion is accepted again.
//
// An unknown user is answered 404 NotFound: Iterable's Swagger lists no 404
// for the deletes, but RudderStack's delete integration receives one for
// unknown users and treats it as already deleted. In a hybrid project every
// userId names one profile, so the byUserId delete removes one.
func (s *Server) deleteUser(w http.ResponseWriter, rec *Request, find func() *profile) {
	s.mu.Lock()
	p := find()
	if p != nil {
		s.deletions = append(s.deletions, deletion{p: p, due: s.now().Add(s.delDelay)})
		s.pendingDeletions.Store(int32(len(s.deletions)))
		if s.delDelay == 0 {
			s.applyDeletions()
		}
	}
	s.mu.Unlock()
	if p == nil {
		s.writeError(w, rec, http.StatusNotFound, "NotFound", "User does not exist", nil)
		return
	}
	s.writeJSON(w, rec, http.StatusOK, apiError{Msg: "User deletion queued", Code: "Success"})
}

// applyDeletions removes the profiles whose deletion is due. Server.mu is
// held. Deletions are applied lazily, whenever the project is read, so the
// simulator needs no timer and follows an injected clock.
func (s *Server) applyDeletions() {
	now := s.now()
	n := 0
	for _, d := range s.deletions {
		if d.due.After(now) {
			break
		}
		n++
		if s.st.holds(d.p) {
			s.st.remove(d.p)
			s.stats.usersDeleted++
		}
	}
	s.deletions = s.deletions[n:]
	s.pendingDeletions.Store(int32(len(s.deletions)))
}

// holds reports whether p is still a profile of the project.
func (st *store) holds(p *profile) bool {
	return (p.email != "" && st.byEmail[p.email] == p) || (p.userID != "" && st.byUserID[p.userID] == p)
}
