package app

import (
	"context"
	"net/http"
	"time"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/ratelimit"
	"github.com/redis/go-redis/v9"
)

// Iterable is the sync's Iterable client with the limiter of every endpoint
// it calls, each pacing share × Iterable's per-project limit and adapting to
// 429s (AIMD), shared by every instance under rate_limit.scope global.
type Iterable struct {
	*iterable.Client
	// Bulk paces bulkUpdate: the pipeline takes a turn before each
	// attempt so that a request is cut only when it may leave; the client
	// only spaces the departures of the requests it was given
	// (Bulk.Departures).
	Bulk *ratelimit.Adaptive
	// Limiters holds every endpoint's limiter by budget name, for the
	// pacing metric.
	Limiters map[string]*ratelimit.Adaptive
}

// NewIterable builds the client of cfg's Iterable project. rdb holds the
// shared budgets under scope global. obs, when not nil, hears of every
// limiter wait; hc sends the requests (nil: http.DefaultClient).
func NewIterable(cfg *config.Config, rdb redis.UniversalClient, obs pipeline.Observer, hc *http.Client) (*Iterable, error) {
	limiters := map[string]*ratelimit.Adaptive{}
	for name, b := range ratelimit.Budgets(cfg.RateLimit) {
		l, err := ratelimit.NewAdaptive(cfg.RateLimit, rdb, cfg.Sync.Name, cfg.Redis.KeyPrefix, b)
		if err != nil {
			return nil, err
		}
		limiters[name] = l
	}
	paced := func(name string) iterable.Limiter {
		if obs == nil {
			return limiters[name]
		}
		return observedLimiter{Adaptive: limiters[name], endpoint: name, obs: obs}
	}
	bulk := limiters[ratelimit.BudgetBulkUpdate]
	client := iterable.New(cfg.IterableBaseURL(), cfg.Iterable.APIKey,
		iterable.WithBulkUpdateDepartures(bulk.Departures()),
		iterable.WithLookupLimiter(paced(ratelimit.BudgetLookup)),
		iterable.WithExportLimiter(paced(ratelimit.BudgetExport)),
		iterable.WithGetFieldsLimiter(paced(ratelimit.BudgetGetFields)),
		iterable.WithUpdateEmailLimiter(paced(ratelimit.BudgetUpdateEmail)),
		iterable.WithDeleteLimiter(paced(ratelimit.BudgetDelete)),
		iterable.WithUserAgent("attrsync/"+Version), iterable.WithHTTPClient(hc))
	return &Iterable{Client: client, Bulk: bulk, Limiters: limiters}, nil
}

// observedLimiter reports every wait of a limiter to the observer, and
// passes on what Iterable answered, so the limiter keeps adapting.
type observedLimiter struct {
	*ratelimit.Adaptive
	endpoint string
	obs      pipeline.Observer
}

// Wait waits on the limiter and reports how long it took.
func (l observedLimiter) Wait(ctx context.Context) (time.Duration, error) {
	d, err := l.Adaptive.Wait(ctx)
	l.obs.LimiterWaited(ctx, l.endpoint, d)
	return d, err
}

var _ iterable.Adaptive = observedLimiter{}
