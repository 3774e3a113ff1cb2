package bench

import (
	"errors"
	"time"
)

// Options size a run.
type Options struct {
	// Users is the number of users synced before the scenarios: the Redis
	// memory figure is over them, and update events pick among them.
	Users int
	// Events is the number of update events of each diff-path scenario.
	Events int
	// Partitions is the partition count of every scenario's topic.
	Partitions int
	// WriteWindow is how long the write path is measured once every
	// instance is sending.
	WriteWindow time.Duration
	// LiveRate and LiveDuration shape the end-to-end delay scenario: events
	// per second produced while the pipeline runs, and for how long. The
	// rate stays under the write path's capacity so the delay measured is
	// the pipeline's, not a growing backlog's.
	LiveRate     int
	LiveDuration time.Duration
	// SnapshotUsers is the smaller initial-snapshot backlog `attrsync run`
	// syncs as a child process for its peak RSS rows; the larger one is
	// five times as many users.
	SnapshotUsers int
	// Brokers, when set, are the bootstrap addresses of a real Kafka broker
	// to run against instead of the in-process kfake (`make bench
	// BROKER=real`).
	Brokers []string
	// BrokerPID is the real broker's process ID, when known: its CPU time
	// then shows in the diff rows' notes beside this process's and Redis's.
	BrokerPID int
	// CPUProfile, when set, is the path prefix of CPU profiles of the
	// diff-path pipeline runs (<prefix>.diff0.pprof and so on), which leave
	// out producing, warm-up and the baseline.
	CPUProfile string
	// Seed makes the generated stream repeatable.
	Seed uint64
}

// DefaultOptions are the figures the README quotes: a million users as in
// SPEC §5. A run takes about three minutes on two cores.
func DefaultOptions() Options {
	return Options{
		Users: 1_000_000, Events: 200_000, Partitions: 6,
		WriteWindow: 10 * time.Second, LiveRate: 2500, LiveDuration: 8 * time.Second,
		SnapshotUsers: 200_000, Seed: 1,
	}
}

// QuickOptions are small enough for a CI smoke test; the figures they give
// are not the ones to quote.
func QuickOptions() Options {
	return Options{
		Users: 10_000, Events: 10_000, Partitions: 6,
		WriteWindow: time.Second, LiveRate: 1000, LiveDuration: time.Second,
		SnapshotUsers: 2_000, Seed: 1,
	}
}

func (o Options) validate() error {
	switch {
	case o.Users <= 0 || o.Events <= 0 || o.SnapshotUsers <= 0:
		return errors.New("bench: users, events and snapshot users must be positive")
	case o.Partitions < 3:
		return errors.New("bench: at least 3 partitions, one per write-path instance")
	case o.WriteWindow <= 0 || o.LiveDuration <= 0 || o.LiveRate <= 0:
		return errors.New("bench: write window, live rate and live duration must be positive")
	}
	return nil
}
