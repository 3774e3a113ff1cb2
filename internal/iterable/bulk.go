package iterable

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/attrsync/attrsync/internal/change"
)

// Rejection says why Iterable did not update one user of a request.
type Rejection struct {
	// Bucket is the failedUpdates list that named the user, such as
	// "invalidEmails" or "forgottenUserIds".
	Bucket string
	// Reason is a readable explanation of the bucket.
	Reason string
}

// BulkResult is Iterable's answer to a bulkUpdate that it accepted as a
// whole (HTTP 200).
type BulkResult struct {
	// Rejected holds the request users Iterable named in a failure list;
	// every other user of the request was accepted.
	Rejected map[change.Identifier]Rejection
	// SuccessCount and FailCount are Iterable's own counts.
	SuccessCount, FailCount int
	// CreatedFields are fields Iterable added to the project;
	// FilteredOutFields were dropped (createNewFields false), for every
	// user that sent them; see FilteredOut for one user's share.
	CreatedFields, FilteredOutFields []string
	// Unmatched counts failure-list entries that name no user of the
	// request (for example an invalid email inside dataFields).
	Unmatched int
}

// FilteredOut returns the names of u's fields (as sent in the request) that
// Iterable did not store in full: filteredOutFields lists the field itself,
// or a nested field that u's value of it holds ("plan.addon" when u sent
// plan {"addon": …}). Such a field must not count as accepted for u.
// Iterable lists filtered fields once per request; a field unknown to the
// project is dropped for every user that sends it, so a user is charged
// only with the fields its own values contain.
func (r BulkResult) FilteredOut(u User) []string {
	if len(r.FilteredOutFields) == 0 {
		return nil
	}
	var out []string
	for _, a := range u.Fields {
		for _, f := range r.FilteredOutFields {
			rest, nested := strings.CutPrefix(f, a.Name+".")
			if f == a.Name || (nested && holdsPath(a.JSON, rest)) {
				out = append(out, a.Name)
				break
			}
		}
	}
	return out
}

// holdsPath reports whether the JSON object value has the dotted path.
func holdsPath(value []byte, path string) bool {
	var cur any
	if json.Unmarshal(value, &cur) != nil {
		return false
	}
	for seg := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = obj[seg]; !ok {
			return false
		}
	}
	return true
}

// bulkResponse is UserBulkUpdateListResponse. Failure lists are decoded
// generically so that buckets Iterable adds later still count.
type bulkResponse struct {
	SuccessCount      int                        `json:"successCount"`
	FailCount         int                        `json:"failCount"`
	FailedUpdates     map[string]json.RawMessage `json:"failedUpdates"`
	CreatedFields     []string                   `json:"createdFields"`
	FilteredOutFields []string                   `json:"filteredOutFields"`
	InvalidEmails     []string                   `json:"invalidEmails"`  // deprecated
	InvalidUserIDs    []string                   `json:"invalidUserIds"` // deprecated
}

// BulkUpdate sends req once through POST /api/users/bulkUpdate: the caller
// paces bulkUpdate itself, taking a turn before it cuts a request and
// reporting a 429 it meets (IsRateLimited) to its limiter; the client only
// waits for the request's departure (WithBulkUpdateDepartures). A 200 yields
// the per-user outcome; any other status an *APIError; no response a
// *TransportError or ErrTimeout. Retrying is the caller's decision (see
// IsTransient).
func (c *Client) BulkUpdate(ctx context.Context, req BulkRequest) (BulkResult, error) {
	body := EncodeBulk(req)
	if !json.Valid(body) {
		return BulkResult{}, fmt.Errorf("%w: an attribute value is not JSON", ErrInvalidBody)
	}
	resp, err := c.do(ctx, c.bulk, http.MethodPost, EndpointBulkUpdate, nil, body)
	if err != nil {
		return BulkResult{}, err
	}
	if resp.status != http.StatusOK {
		return BulkResult{}, c.apiError(ctx, nil, EndpointBulkUpdate, resp)
	}
	var br bulkResponse
	if err := json.Unmarshal(resp.body, &br); err != nil {
		return BulkResult{}, fmt.Errorf("iterable: %s: HTTP 200 with an undecodable body: %w", EndpointBulkUpdate, err)
	}
	return br.result(req.Users), nil
}

// result matches the failure lists to the request's users.
func (br *bulkResponse) result(users []User) BulkResult {
	res := BulkResult{
		SuccessCount:      br.SuccessCount,
		FailCount:         br.FailCount,
		CreatedFields:     br.CreatedFields,
		FilteredOutFields: br.FilteredOutFields,
		Rejected:          make(map[change.Identifier]Rejection),
	}
	// Iterable lowercases emails, so emails match case-insensitively;
	// userIds are case-sensitive.
	byEmail := make(map[string]change.Identifier)
	byUserID := make(map[string]change.Identifier)
	for _, u := range users {
		if u.ID.Kind == change.UserID {
			byUserID[u.ID.Value] = u.ID
		} else {
			byEmail[strings.ToLower(u.ID.Value)] = u.ID
		}
	}
	reject := func(bucket string, values []string) {
		for _, v := range values {
			var id change.Identifier
			var ok bool
			if strings.HasSuffix(bucket, "UserIds") {
				id, ok = byUserID[v]
			} else {
				id, ok = byEmail[strings.ToLower(v)]
			}
			if !ok {
				res.Unmatched++
				continue
			}
			if _, seen := res.Rejected[id]; !seen {
				res.Rejected[id] = Rejection{Bucket: bucket, Reason: bucketReason(bucket)}
			}
		}
	}
	for bucket, raw := range br.FailedUpdates {
		// noOp lists (seen in the wild, undocumented) are not failures, and
		// a key that is not a list of identifiers is not a failure list.
		if strings.HasPrefix(bucket, "noOp") ||
			!(strings.HasSuffix(bucket, "Emails") || strings.HasSuffix(bucket, "UserIds")) {
			continue
		}
		var values []string
		if json.Unmarshal(raw, &values) != nil {
			continue
		}
		reject(bucket, values)
	}
	// The deprecated top-level lists repeat failedUpdates; they only add
	// users that failedUpdates did not name.
	before := res.Unmatched
	reject("invalidEmails", br.InvalidEmails)
	reject("invalidUserIds", br.InvalidUserIDs)
	if br.FailedUpdates != nil {
		// Entries unmatched in both places would be counted twice.
		res.Unmatched = before
	}
	return res
}

// bucketReason explains a failedUpdates list of Iterable's Swagger.
func bucketReason(bucket string) string {
	switch bucket {
	case "conflictEmails", "conflictUserIds":
		return "identifier conflicts with an existing user"
	case "forgottenEmails", "forgottenUserIds":
		return "user is GDPR-forgotten"
	case "invalidDataEmails", "invalidDataUserIds":
		return "invalid data in dataFields"
	case "invalidEmails":
		return "invalid email"
	case "invalidUserIds":
		return "invalid userId"
	case "notFoundEmails", "notFoundUserIds":
		return "user not found"
	}
	return "rejected by Iterable (" + bucket + ")"
}
