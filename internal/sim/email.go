package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// maxSmallBody bounds the bodies of the single-user endpoints.
const maxSmallBody = 1 << 20

// updateEmailWire is Iterable's UpdateEmailRequest; pointers tell an absent
// member from an empty one.
type updateEmailWire struct {
	CurrentEmail  *string `json:"currentEmail"`
	CurrentUserID *string `json:"currentUserId"`
	NewEmail      *string `json:"newEmail"`
}

// handleUpdateEmail moves a profile to a new email, with everything it
// holds, as POST /api/users/updateEmail does in an email-based project.
// The simulated project is hybrid, where Iterable tells clients to use
// users/update instead; the simulator serves updateEmail anyway, because
// the client it tests is written for email-based projects.
//
// Answers: 200 Success; 400 BadJsonBody when newEmail is missing, 400
// BadParams when no current identifier is given, 400
// InvalidEmailAddressError for a malformed newEmail; 400 BadParams "Cannot
// change user Some(x) to y. User does not exist" for an unknown current user
// (recorded from Iterable); 409 EmailAlreadyExists when newEmail belongs to
// another profile and 409 ForgottenUserError when it was GDPR-forgotten
// (Iterable documents 409 for both). currentEmail takes precedence over
// currentUserId, as documented. Moving a profile to the email it already has
// is answered Success: there is nothing to move, and a client retrying a
// request whose answer it lost then finds it done.
func (s *Server) handleUpdateEmail(w http.ResponseWriter, r *http.Request, rec *Request) {
	rec.Users = 1
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSmallBody))
	rec.BodyBytes = len(body)
	var in updateEmailWire
	if err == nil {
		err = json.NewDecoder(bytes.NewReader(body)).Decode(&in)
	}
	if err != nil {
		s.writeError(w, rec, http.StatusBadRequest, "BadJsonBody", "[/api/users/updateEmail] Invalid JSON body",
			map[string]any{"obj": err.Error()})
		return
	}
	if in.NewEmail == nil {
		s.writeError(w, rec, http.StatusBadRequest, "BadJsonBody", "[/api/users/updateEmail] Invalid JSON body",
			map[string]any{"obj.newEmail": "error.path.missing"})
		return
	}
	newEmail := *in.NewEmail
	current, byEmail := "", false
	switch {
	case in.CurrentEmail != nil && *in.CurrentEmail != "":
		current, byEmail = *in.CurrentEmail, true
	case in.CurrentUserID != nil && *in.CurrentUserID != "":
		current = *in.CurrentUserID
	default:
		s.writeError(w, rec, http.StatusBadRequest, "BadParams", "currentEmail or currentUserId is required", nil)
		return
	}
	if !validEmail(newEmail) {
		s.writeError(w, rec, http.StatusBadRequest, "InvalidEmailAddressError", "Invalid email: "+newEmail, nil)
		return
	}
	newEmail = normalizeEmail(newEmail)

	s.mu.Lock()
	defer s.mu.Unlock()
	var p *profile
	if byEmail {
		p = s.st.byEmail[normalizeEmail(current)]
	} else {
		p = s.st.byUserID[current]
	}
	switch other := s.st.byEmail[newEmail]; {
	case p == nil:
		s.writeError(w, rec, http.StatusBadRequest, "BadParams",
			"Cannot change user Some("+current+") to "+newEmail+". User does not exist", nil)
		return
	case s.st.forgottenEmails[newEmail]:
		s.writeError(w, rec, http.StatusConflict, "ForgottenUserError", "The new email belongs to a forgotten user", nil)
		return
	case other != nil && other != p:
		s.writeError(w, rec, http.StatusConflict, "EmailAlreadyExists", "A user with the new email already exists", nil)
		return
	}
	if p.email != newEmail {
		s.st.setEmail(p, newEmail)
		p.updated = s.now()
		s.stats.emailsUpdated++
	}
	s.writeJSON(w, rec, http.StatusOK, apiError{Msg: "", Code: "Success"})
}
