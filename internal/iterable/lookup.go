package iterable

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/attrsync/attrsync/internal/change"
)

// UserExists reports whether Iterable has a user with id, through
// GET /api/users/getByEmail?email= or GET /api/users/byUserId?userId=,
// after waiting on the lookup limiter. Iterable answers an unknown user with
// 200 {} (and, for byUserId, sometimes with error.users.noUserWithIdExists
// or 404): those are false, not errors. Other failures are as in BulkUpdate.
func (c *Client) UserExists(ctx context.Context, id change.Identifier) (bool, error) {
	endpoint, query := EndpointGetByEmail, url.Values{"email": {id.Value}}
	if id.Kind == change.UserID {
		endpoint, query = EndpointByUserID, url.Values{"userId": {id.Value}}
	}
	resp, err := c.do(ctx, c.lookup, http.MethodGet, endpoint, query, nil)
	if err != nil {
		return false, err
	}
	if resp.status != http.StatusOK {
		apiErr := c.apiError(ctx, c.lookup, endpoint, resp)
		if id.Kind == change.UserID && (apiErr.Code == CodeNoUserWithID || apiErr.Status == http.StatusNotFound) {
			return false, nil
		}
		return false, apiErr
	}
	var body struct {
		User map[string]json.RawMessage `json:"user"`
		Code string                     `json:"code"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return false, fmt.Errorf("iterable: %s: HTTP 200 with an undecodable body: %w", endpoint, err)
	}
	if body.Code == CodeNoUserWithID {
		return false, nil
	}
	return len(body.User) > 0, nil
}

// probeEmail is the user CheckKey looks up: it need not exist.
const probeEmail = "attrsync-key-check@example.com"

// CheckKey makes one cheap authenticated call (a lookup of a user that
// need not exist, paced as lookups are): nil means Iterable accepts the
// key; a refusal fails as IsAuth reports, and so does any call made with
// the key meanwhile.
func (c *Client) CheckKey(ctx context.Context) error {
	_, err := c.UserExists(ctx, change.Identifier{Kind: change.Email, Value: probeEmail})
	return err
}
