package iterable

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
)

// UserFields returns the project's user profile fields and their types,
// through GET /api/users/getFields after waiting on the getFields limiter:
// field path (nested fields dotted, "plan.tier") → type as Iterable names it
// ("string", "long", "double", "boolean", "date", "object", and others such
// as "geo_location"). Arrays are typed by their elements. Failures are as in
// BulkUpdate.
func (c *Client) UserFields(ctx context.Context) (map[string]string, error) {
	resp, err := c.do(ctx, c.getFields, http.MethodGet, EndpointGetFields, nil, nil)
	if err != nil {
		return nil, err
	}
	if resp.status != http.StatusOK {
		return nil, c.apiError(ctx, c.getFields, EndpointGetFields, resp)
	}
	var body struct {
		Fields map[string]json.RawMessage `json:"fields"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, fmt.Errorf("iterable: %s: HTTP 200 with an undecodable body: %w", EndpointGetFields, err)
	}
	if body.Fields == nil {
		return nil, fmt.Errorf("iterable: %s: HTTP 200 without a fields object", EndpointGetFields)
	}
	fields := make(map[string]string, len(body.Fields))
	for path, raw := range body.Fields {
		var typ string
		if json.Unmarshal(raw, &typ) != nil {
			// Not a type name: keep the field, with the JSON as its type, so
			// a comparison reports it rather than missing it.
			typ = string(raw)
		}
		fields[path] = typ
	}
	return fields, nil
}
