package bench

import (
	"bufio"
	"context"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
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
	s := cpuSample{at: time.Now()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.process = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if info, err := m.rdb.Info(ctx, "cpu").Result(); err == nil {
		sc := bufio.NewScanner(strings.NewReader(info))
		for sc.Scan() {
			k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
			if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
				sec, _ := strconv.ParseFloat(v, 64)
				s.redis += time.Duration(sec * float64(time.Second))
			}
		}
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
