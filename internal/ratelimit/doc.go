// Package ratelimit paces requests to Iterable per endpoint (SPEC §3 Rate).
//
// An Adaptive limiter paces one endpoint evenly, with a burst of one: calls
// leave at least 1/pace apart by the clock at the moment they leave, so a
// caller that wakes late pushes the next one back instead of leaving beside
// it, and a sync that stays within share × limit never sends a burst that
// Iterable's own leaky bucket would answer with 429. The pace starts at
// share × Iterable's limit. A 429 that still arrives (another client writing
// to the same project, say) pauses every caller sharing the limiter for as
// long as it asked and lowers the pace, which successes then raise again
// (AIMD, see AIMD). A request that still has work to do after its turn
// waits on the limiter's Departures once it is ready, so that uneven
// preparation never brings two requests closer than the pace.
//
// The state is per process (NewAdaptiveLocal, scope local) or one Redis
// hash that every process of the sync shares (NewAdaptiveGlobal, scope
// global), changed only by Lua scripts on Redis's clock, so scaling the
// consumer group out never multiplies the load on Iterable. NewAdaptive
// builds the limiter of one endpoint's budget (Budgets) from a Config, the
// rate_limit section of a sync's config, which this package owns and
// internal/config embeds; Rate reports the pace in force, for a metric.
package ratelimit
