package iterable

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// ExportedUser is one user of a user export, reduced to its identifiers.
type ExportedUser struct {
	Email  string `json:"email"`
	UserID string `json:"userId"`
}

// ErrInvalidExport marks an export whose stream holds something other than
// JSON objects: retrying the same request would read the same.
var ErrInvalidExport = errors.New("iterable: export stream is not JSON lines")

// exportTimeLayout is startDateTime and endDateTime as Iterable documents
// them ("yyyy-MM-dd HH:mm:ss [ZZ]"), always sent in UTC.
const exportTimeLayout = "2006-01-02 15:04:05 -07:00"

// ExportUsers streams the users whose export date falls in [from, to) (whole
// seconds, UTC) through GET /api/export/data.json?dataTypeName=user, asking
// only for their email and userId, after waiting on the export limiter
// (Iterable: 4 requests per minute). It calls visit for each user in the
// order Iterable sends them and returns how many it visited; an error from
// visit ends the export and is returned wrapped.
//
// The answer is JSON lines, decoded one line at a time as it arrives, so
// memory does not grow with the export. The client's timeout bounds the
// wait for the answer and any silence within it, not the whole stream,
// which may take much longer for a large project. A stream cut short is a
// *TransportError (or ErrTimeout): transient, and the users visited so far
// were real. Iterable does not document which date the range applies to for
// users (profileUpdatedAt or signupDate); callers should not depend on it.
func (c *Client) ExportUsers(ctx context.Context, from, to time.Time, visit func(ExportedUser) error) (int, error) {
	cl := call{limiter: c.export, method: http.MethodGet, endpoint: EndpointExport, query: url.Values{
		"dataTypeName":  {"user"},
		"startDateTime": {from.UTC().Format(exportTimeLayout)},
		"endDateTime":   {to.UTC().Format(exportTimeLayout)},
		"onlyFields":    {"email", "userId"},
	}}
	if err := c.wait(ctx, cl); err != nil {
		return 0, err
	}
	reqCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The watchdog ends the request after c.timeout without progress.
	watchdog := time.AfterFunc(c.timeout, func() { cancel(ErrTimeout) })
	defer watchdog.Stop()

	resp, err := c.send(ctx, reqCtx, cl)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
		if err != nil {
			return 0, c.failure(ctx, reqCtx, EndpointExport, err)
		}
		return 0, c.apiError(ctx, c.export, EndpointExport, &response{status: resp.StatusCode, header: resp.Header, body: data})
	}

	dec := json.NewDecoder(resp.Body)
	n := 0
	for {
		watchdog.Reset(c.timeout)
		var u ExportedUser
		err := dec.Decode(&u)
		// Time spent in visit (a slow Redis) is not the server's silence.
		watchdog.Stop()
		switch {
		case errors.Is(err, io.EOF):
			return n, nil
		case err != nil:
			if _, bad := errors.AsType[*json.SyntaxError](err); bad {
				return n, fmt.Errorf("%w: after %d users: %w", ErrInvalidExport, n, err)
			}
			if _, bad := errors.AsType[*json.UnmarshalTypeError](err); bad {
				return n, fmt.Errorf("%w: after %d users: %w", ErrInvalidExport, n, err)
			}
			// A cut connection ends mid-line (io.ErrUnexpectedEOF) or fails
			// the read; either is the network's doing.
			return n, c.failure(ctx, reqCtx, EndpointExport, err)
		}
		if err := visit(u); err != nil {
			return n, fmt.Errorf("iterable: %s: after %d users: %w", EndpointExport, n, err)
		}
		n++
	}
}
