package kafka

import (
	"cmp"
	"slices"

	fetchapi "github.com/segmentio/kafka-go/protocol/fetch"
)

// abortSpans tracks which producers' records are aborted while reading one
// fetch response, as the Java consumer does: a producer is aborted from the
// first offset the broker lists for it until its abort marker.
type abortSpans struct {
	pending []fetchapi.ResponseTransaction // not reached yet, by first offset
	active  map[int64]bool
}

func newAbortSpans(list []fetchapi.ResponseTransaction) *abortSpans {
	// The broker lists them in offset order; sort anyway, the list is short.
	pending := slices.SortedFunc(slices.Values(list), func(a, b fetchapi.ResponseTransaction) int {
		return cmp.Compare(a.FirstOffset, b.FirstOffset)
	})
	return &abortSpans{pending: pending, active: map[int64]bool{}}
}

// aborted reports whether a transactional batch of producer starting at
// base belongs to an aborted transaction.
func (a *abortSpans) aborted(producer, base int64) bool {
	for len(a.pending) > 0 && a.pending[0].FirstOffset <= base {
		a.active[a.pending[0].ProducerID] = true
		a.pending = a.pending[1:]
	}
	return a.active[producer]
}

// ended is called at a control batch of producer: its transaction, aborted
// or committed, is over.
func (a *abortSpans) ended(producer int64) { delete(a.active, producer) }
