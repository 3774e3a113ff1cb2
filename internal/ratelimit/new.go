package ratelimit

import (
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/config"
)

// The scopes of rate_limit.scope.
const (
	ScopeGlobal = "global"
	ScopeLocal  = "local"
)

// New builds the bulkUpdate and lookup limiters of one sync from its config:
// each paces share × per-second limit, per process (scope local) or for all
// processes of the sync together (scope global, the default, in rdb under
// keys namespaced by keyPrefix and syncName).
func New(cfg config.RateLimit, rdb redis.UniversalClient, syncName, keyPrefix string) (bulk, lookup Pacer, err error) {
	if cfg.Share <= 0 || cfg.Share > 1 {
		return nil, nil, fmt.Errorf("ratelimit: share %g: must be in (0, 1]", cfg.Share)
	}
	if cfg.BulkUpdatePerSecond <= 0 || cfg.LookupPerSecond <= 0 {
		return nil, nil, fmt.Errorf("ratelimit: bulk_update_per_second %g and lookup_per_second %g: must be positive",
			cfg.BulkUpdatePerSecond, cfg.LookupPerSecond)
	}
	bulkRate := cfg.Share * cfg.BulkUpdatePerSecond
	lookupRate := cfg.Share * cfg.LookupPerSecond
	switch cfg.Scope {
	case ScopeLocal:
		return NewLocal(bulkRate), NewLocal(lookupRate), nil
	case ScopeGlobal, "":
		if rdb == nil {
			return nil, nil, errors.New("ratelimit: scope global needs a Redis client")
		}
		return NewGlobal(rdb, Key(keyPrefix, syncName, "bulkUpdate"), bulkRate),
			NewGlobal(rdb, Key(keyPrefix, syncName, "lookup"), lookupRate), nil
	default:
		return nil, nil, fmt.Errorf("ratelimit: scope %q: want %q or %q", cfg.Scope, ScopeGlobal, ScopeLocal)
	}
}

// Key is the Redis key of the global budget of one endpoint of one sync.
// redis_rate prepends its own "rate:" to it.
func Key(keyPrefix, syncName, endpoint string) string {
	if keyPrefix == "" {
		return syncName + ":ratelimit:" + endpoint
	}
	return keyPrefix + ":" + syncName + ":ratelimit:" + endpoint
}
