// Package ratelimit paces requests to Iterable per endpoint (SPEC §3 Rate).
//
// Every limiter is evenly paced with a burst of one: requests are spread at
// 1/rate intervals, so a sync that stays within share × limit never sends a
// burst that Iterable's own leaky bucket would answer with 429. A Local
// limiter paces one process; a Global limiter keeps one GCRA budget in Redis
// that every process sharing its key draws from, so scaling the consumer
// group out never multiplies the load on Iterable.
//
// Both also implement Pacer: a 429 that still arrives (another tool writing
// to the same project, say) pauses every waiter sharing the budget.
//
// Adaptive limiters go further when another client shares the project's
// quota: they lower their pace on 429s and climb back on successes (AIMD,
// see AIMD), per process (NewAdaptiveLocal) or for every process of the
// sync together, with the state in Redis changed only by Lua scripts
// (NewAdaptiveGlobal). NewAdaptive builds one per endpoint budget (Budgets)
// from the config; Rate reports the pace in force for a metric.
package ratelimit
