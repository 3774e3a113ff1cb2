package iterable

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// UpdateEmail moves the user identified by current to newEmail through
// POST /api/users/updateEmail, after waiting on the updateEmail limiter:
// Iterable migrates the profile with all its data and events, instead of a
// write to newEmail creating a second profile. The endpoint is for
// email-based projects; userId-based and hybrid projects change an email
// with users/update.
//
// A refusal is an *APIError that errors.Is matches to ErrEmailTaken (the new
// email has a profile of its own), ErrUserForgotten (it was GDPR-forgotten)
// or ErrUserNotFound (current has no profile: it may already have moved, if
// an earlier attempt succeeded without its answer arriving). Identifiers are
// kept out of the error's message. Other failures are as in BulkUpdate.
func (c *Client) UpdateEmail(ctx context.Context, current change.Identifier, newEmail string) error {
	req := map[string]string{"newEmail": newEmail}
	if current.Kind == change.UserID {
		req["currentUserId"] = current.Value
	} else {
		req["currentEmail"] = current.Value
	}
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("iterable: %s: encode request: %w", EndpointUpdateEmail, err)
	}
	resp, err := c.do(ctx, c.email, http.MethodPost, EndpointUpdateEmail, nil, body)
	if err != nil {
		return err
	}
	if resp.status == http.StatusOK {
		return nil
	}
	e := c.apiError(ctx, c.email, EndpointUpdateEmail, resp)
	redactIdentifiers(e, current.Value, newEmail)
	e.refusal = emailRefusal(e)
	return e
}

// emailRefusal classifies an updateEmail error. Iterable documents 409 for
// "Contact is GDPR forgotten" and "Email/userId conflict", and recorded
// traffic shows 400 BadParams "... User does not exist" for an unknown
// current user.
func emailRefusal(e *APIError) error {
	switch {
	case e.Code == CodeForgotten:
		return ErrUserForgotten
	case e.Code == CodeEmailExists, e.Status == http.StatusConflict:
		return ErrEmailTaken
	case e.Code == CodeUnknownEmail, e.Code == CodeUnknownUserID,
		e.Status == http.StatusBadRequest && strings.Contains(e.Msg, "does not exist"):
		return ErrUserNotFound
	}
	return nil
}
