package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/state"
)

// cpuMeter reads the CPU time used so far by this process (the pipeline,
// the in-process broker and the simulator together), by redis-server and,
// when its process is known, by the real broker, so a figure can say how
// much of the two cores each took.
type cpuMeter struct {
	rdb       *redis.Client
	brokerPID int // 0: kfake, or a real broker whose process is not known
}

// cpuSample is CPU time used up to one moment.
type cpuSample struct {
	at                     time.Time
	process, redis, broker time.Duration
}

func (m cpuMeter) sample(ctx context.Context) cpuSample {
	s := cpuSample{at: time.Now(), process: cpuTime()}
	if used, err := state.UsedCPU(ctx, m.rdb); err == nil {
		s.redis = used
	}
	if m.brokerPID > 0 {
		s.broker = processCPU(m.brokerPID)
	}
	return s
}

// usage is CPU use by where it ran: this process, redis-server and the
// real broker (0 with kfake, whose work counts in this process).
type usage struct{ process, redis, broker float64 }

// cores is the average number of cores busy between two samples.
func cores(from, to cpuSample) usage {
	wall := to.at.Sub(from.at).Seconds()
	if wall <= 0 {
		return usage{}
	}
	return usage{
		process: (to.process - from.process).Seconds() / wall,
		redis:   (to.redis - from.redis).Seconds() / wall,
		broker:  (to.broker - from.broker).Seconds() / wall,
	}
}

// scaled is u with each part multiplied by f.
func (u usage) scaled(f float64) usage {
	return usage{process: u.process * f, redis: u.redis * f, broker: u.broker * f}
}

// format writes u's parts as "process + Redis r + broker b", leaving out
// Redis when withRedis is false and the broker when it was not measured.
func (u usage) format(withRedis bool) string {
	s := strconv.FormatFloat(u.process, 'f', 1, 64)
	if withRedis {
		s += " + Redis " + strconv.FormatFloat(u.redis, 'f', 1, 64)
	}
	if u.broker > 0 {
		s += " + broker " + strconv.FormatFloat(u.broker, 'f', 1, 64)
	}
	return s
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100
// on every architecture Go supports there.
const clockTicks = 100

// processCPU is the user and system CPU time another process has used
// (fields 14 and 15 of /proc/<pid>/stat); 0 when it cannot be read.
func processCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) is in parentheses and may hold spaces;
	// the fields after its closing parenthesis start at field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// BrokerPID is the process ID of the broker deploy/local/kafka/kafka.sh
// runs from instanceDir (its ATTRSYNC_KAFKA_DIR, where it writes a pid
// file); 0 when there is none.
func BrokerPID(instanceDir string) int {
	if instanceDir == "" {
		return 0
	}
	b, err := os.ReadFile(filepath.Join(instanceDir, "pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
