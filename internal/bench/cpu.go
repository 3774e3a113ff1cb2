package bench

import (
	"context"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/state"
)

// cpuMeter reads the CPU time used so far by this process (the pipeline,
// the in-process broker and the simulator together) and by redis-server, so
// a figure can say how much of the two cores it took.
type cpuMeter struct {
	rdb *redis.Client
}

// cpuSample is CPU time used up to one moment.
type cpuSample struct {
	at             time.Time
	process, redis time.Duration
}

func (m cpuMeter) sample(ctx context.Context) cpuSample {
	s := cpuSample{at: time.Now(), process: cpuTime()}
	if used, err := state.UsedCPU(ctx, m.rdb); err == nil {
		s.redis = used
	}
	return s
}

// cores is the average number of cores busy between two samples, for this
// process and for redis-server.
func cores(from, to cpuSample) (process, redis float64) {
	wall := to.at.Sub(from.at).Seconds()
	if wall <= 0 {
		return 0, 0
	}
	return (to.process - from.process).Seconds() / wall, (to.redis - from.redis).Seconds() / wall
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
