package kafka

import (
	"context"

	"github.com/attrsync/attrsync/internal/change"
)

// Handler is the work done on the messages of one session: a generation of
// the consumer group, or one bounded read. The runtime hands each message
// to it; the handler reports back through the session's Finisher once the
// message reached an end (synced, unchanged, skipped, dead-lettered), and
// only finished messages are ever committed. The runtime knows nothing of
// what the work is.
type Handler interface {
	// Handle takes one message. Calls for one partition come from one
	// goroutine, in partition order; partitions run in parallel. Handle may
	// block to apply backpressure, and returns false when ctx ended before
	// it took the message.
	Handle(ctx context.Context, m change.Message) bool
	// Drain is called once, after the last Handle call of the session. It
	// returns when every message handed to the session is finished, or when
	// ctx ends: work still unfinished then is abandoned, stays uncommitted,
	// and is consumed again by the partition's next owner.
	Drain(ctx context.Context)
}

// Finisher is told when a handed-out message is finished.
type Finisher interface {
	Finish(pos change.Position)
}

// StartFunc starts the handler of a session over claims, whose positions
// are where each partition's consumption begins. ctx ends when the session
// stops taking new messages (a rebalance, shutdown, or the end of a bounded
// read); f must be told of every message that finishes.
type StartFunc func(ctx context.Context, claims []change.Position, f Finisher) Handler
