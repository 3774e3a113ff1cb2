package state

import "context"

// backend is where records are kept: Redis in production, memory in the
// pipeline's unit tests. Every call is one round trip, whatever the number
// of users.
type backend interface {
	// get returns what is stored under each key (nil: nothing).
	get(ctx context.Context, keys []userKey) ([][]byte, error)
	// swap stores news[i] (nil: deletes) under keys[i] only where olds[i]
	// is what is stored (nil: nothing is), and reports for each key whether it did,
	// and if not, what is stored instead. It also records the store's
	// attribute layout if it is missing (a reset, a Redis restarted empty).
	swap(ctx context.Context, keys []userKey, olds, news [][]byte) ([]swapped, error)
	// layout returns the attribute list stored for a layout id (nil when
	// there is none).
	layout(ctx context.Context, id uint32) ([]byte, error)
	// put stores vals[i] under keys[i] whatever is there (nil deletes).
	put(ctx context.Context, keys []userKey, vals [][]byte) error
}

// swapped is the outcome of one compare-and-set.
type swapped struct {
	done    bool
	current []byte // what is stored, when not done (nil: nothing)
}
