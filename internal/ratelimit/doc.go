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
package ratelimit
