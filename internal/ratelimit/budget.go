package ratelimit

import (
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Budget names, the keys of Budgets: one per endpoint limit of Iterable's.
const (
	BudgetBulkUpdate  = "bulkUpdate"
	BudgetLookup      = "lookup"
	BudgetExport      = "export"
	BudgetGetFields   = "getFields"
	BudgetUpdateEmail = "updateEmail"
	BudgetDelete      = "delete"
)

// Iterable's per-project limits of the endpoints that have no config key.
const (
	ExportPerMinute    = 4   // GET /api/export/data.json
	GetFieldsPerSecond = 3   // GET /api/users/getFields
	DeletePerSecond    = 100 // DELETE /api/users/{email}, /api/users/byUserId/{userId}, each
	// UpdateEmailPerSecond paces POST /api/users/updateEmail, for which
	// Iterable states no limit. 10/s is far below the single-user
	// users/update limit (500/s) and well above what email changes need; a
	// 429 lowers it further like any other.
	UpdateEmailPerSecond = 10
)

// Budget is one endpoint's limit, as Iterable states it for a project.
type Budget struct {
	// Name identifies the budget (a Budget* constant) and ends its Redis key.
	Name string
	// Limit is how many requests Iterable allows per Window.
	Limit float64
	// Window is the period of Limit: a second, or a minute for the export.
	Window time.Duration
}

// perSecond is the limit as a rate.
func (b Budget) perSecond() float64 { return b.Limit / b.Window.Seconds() }

// Budgets returns the budget of every endpoint attrsync calls: bulkUpdate
// and the lookups as configured, the others as Iterable documents them.
func Budgets(cfg Config) map[string]Budget {
	return map[string]Budget{
		BudgetBulkUpdate:  {BudgetBulkUpdate, cfg.BulkUpdatePerSecond, time.Second},
		BudgetLookup:      {BudgetLookup, cfg.LookupPerSecond, time.Second},
		BudgetExport:      {BudgetExport, ExportPerMinute, time.Minute},
		BudgetGetFields:   {BudgetGetFields, GetFieldsPerSecond, time.Second},
		BudgetUpdateEmail: {BudgetUpdateEmail, UpdateEmailPerSecond, time.Second},
		BudgetDelete:      {BudgetDelete, DeletePerSecond, time.Second},
	}
}

// NewAdaptive builds the adaptive limiter of one budget of a sync from its
// config: it paces at most share × the budget's limit, lowers the pace on
// 429s and climbs back (AIMD), per process (scope local) or for all
// processes of the sync together (scope global, in rdb, under a key
// namespaced by keyPrefix and syncName).
func NewAdaptive(cfg Config, rdb redis.UniversalClient, syncName, keyPrefix string, b Budget) (*Adaptive, error) {
	if cfg.Share <= 0 || cfg.Share > 1 {
		return nil, fmt.Errorf("ratelimit: share %g: must be in (0, 1]", cfg.Share)
	}
	if b.Limit <= 0 || b.Window <= 0 {
		return nil, fmt.Errorf("ratelimit: %s: limit %g per %s: must be positive", b.Name, b.Limit, b.Window)
	}
	p := AIMD{Max: cfg.Share * b.perSecond(), Window: b.Window, Share: cfg.Share}
	switch cfg.Scope {
	case ScopeLocal:
		return NewAdaptiveLocal(p), nil
	case ScopeGlobal, "":
		if rdb == nil {
			return nil, errors.New("ratelimit: scope global needs a Redis client")
		}
		return NewAdaptiveGlobal(rdb, Key(keyPrefix, syncName, b.Name)+":aimd", p), nil
	default:
		return nil, fmt.Errorf("ratelimit: scope %q: want %q or %q", cfg.Scope, ScopeGlobal, ScopeLocal)
	}
}

// Key is the Redis key prefix of the budget of one endpoint of one sync;
// the adaptive state lives at Key + ":aimd".
func Key(keyPrefix, syncName, endpoint string) string {
	if keyPrefix == "" {
		return syncName + ":ratelimit:" + endpoint
	}
	return keyPrefix + ":" + syncName + ":ratelimit:" + endpoint
}
