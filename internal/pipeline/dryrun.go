package pipeline

import (
	"context"
	"log/slog"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/iterable"
)

// dryRunAPI stands in for Iterable under --dry-run: it logs each request it
// would send and answers as if Iterable accepted every user. It makes no
// call at all, lookups included: every user is taken to exist.
type dryRunAPI struct {
	log *slog.Logger
}

func (d dryRunAPI) BulkUpdate(ctx context.Context, req iterable.BulkRequest) (iterable.BulkResult, error) {
	attrs := 0
	for _, u := range req.Users {
		attrs += len(u.Fields)
	}
	body := iterable.EncodeBulk(req)
	d.log.Info("dry run: would send bulkUpdate", "users", len(req.Users), "attributes", attrs,
		"bytes", len(body), "first_user", mask(req.Users[0].ID))
	d.log.Debug("dry run: request body", "body", string(body))
	return iterable.BulkResult{SuccessCount: len(req.Users)}, nil
}

func (d dryRunAPI) UserExists(context.Context, change.Identifier) (bool, error) {
	return true, nil
}

// mask hides most of an identifier, for logs at info level.
func mask(id change.Identifier) string {
	v := id.Value
	if len(v) <= 2 {
		return "**"
	}
	return v[:1] + "***" + v[len(v)-1:]
}
