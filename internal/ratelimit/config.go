package ratelimit

// Config is how a sync paces its calls to Iterable: the rate_limit section
// of its config file. It is declared here, beside the limiters it drives,
// so that this package needs nothing from internal/config, which embeds it,
// fills its defaults and validates it against the schema.
type Config struct {
	// BulkUpdatePerSecond is Iterable's bulkUpdate limit for the project.
	BulkUpdatePerSecond float64 `yaml:"bulk_update_per_second"`
	// LookupPerSecond is Iterable's limit of the user lookups
	// (getByEmail and byUserId, each).
	LookupPerSecond float64 `yaml:"lookup_per_second"`
	// Share is the fraction of every limit this sync may use, in (0, 1]:
	// what other clients of the project leave it.
	Share float64 `yaml:"share"`
	// Scope is where the pacing state lives; empty means ScopeGlobal.
	Scope Scope `yaml:"scope"`
}

// Scope is where a sync's pacing state lives: rate_limit.scope.
type Scope string

// The scopes.
const (
	// ScopeGlobal keeps one state in Redis for every process of the sync,
	// so that more instances never send more than the budget.
	ScopeGlobal Scope = "global"
	// ScopeLocal keeps the state in each process: for a sync that runs
	// one instance, or no Redis shared by its instances.
	ScopeLocal Scope = "local"
)
