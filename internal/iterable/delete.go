package iterable

import (
	"context"
	"net/http"
	"net/url"

	"github.com/attrsync/attrsync/internal/change"
)

// DeleteUser asks Iterable to delete the user id, through DELETE
// /api/users/{email} or DELETE /api/users/byUserId/{userId}, after waiting on
// the delete limiter. Iterable deletes asynchronously: the user may still be
// readable, and a write to it may still land and then vanish with it, for a
// while after the answer. Deleting does not stop later writes from creating
// the user again. By userId, every user sharing that userId is deleted; by
// email works in email-based and hybrid projects only.
//
// found is false when Iterable says there is no such user (404, as
// RudderStack's deletes receive, or error.users.noUserWithIdExists): it was
// deleted already, which callers can count as done. Identifiers are kept out
// of errors. Other failures are as in BulkUpdate.
func (c *Client) DeleteUser(ctx context.Context, id change.Identifier) (found bool, err error) {
	endpoint, path := EndpointDeleteByEmail, "/api/users/"+url.PathEscape(id.Value)
	if id.Kind == change.UserID {
		endpoint, path = EndpointDeleteByUserID, "/api/users/byUserId/"+url.PathEscape(id.Value)
	}
	resp, err := c.exchange(ctx, call{limiter: c.deletes, method: http.MethodDelete, endpoint: endpoint, path: path})
	if err != nil {
		return false, err
	}
	if resp.status == http.StatusOK {
		return true, nil
	}
	e := c.apiError(ctx, c.deletes, endpoint, resp)
	if e.Status == http.StatusNotFound || e.Code == CodeNoUserWithID {
		return false, nil
	}
	redactIdentifiers(e, id.Value)
	return false, e
}
