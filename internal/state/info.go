package state

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// UsedMemory returns used_memory from INFO memory: what the server's data
// and overhead cost, the figure the sizing guidance in the README is in.
func UsedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	fields, err := info(ctx, rdb, "memory")
	if err != nil {
		return 0, err
	}
	v, ok := fields["used_memory"]
	if !ok {
		return 0, fmt.Errorf("state: INFO memory has no used_memory")
	}
	return strconv.ParseInt(v, 10, 64)
}

// UsedCPU returns the CPU time the server has used, system and user, from
// INFO cpu: what reading and writing state costs Redis, which every
// replica of a sync shares.
func UsedCPU(ctx context.Context, rdb *redis.Client) (time.Duration, error) {
	fields, err := info(ctx, rdb, "cpu")
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, k := range []string{"used_cpu_sys", "used_cpu_user"} {
		sec, err := strconv.ParseFloat(fields[k], 64)
		if err != nil {
			return 0, fmt.Errorf("state: INFO cpu %s: %w", k, err)
		}
		total += time.Duration(sec * float64(time.Second))
	}
	return total, nil
}

// info returns the fields of one INFO section.
func info(ctx context.Context, rdb *redis.Client, section string) (map[string]string, error) {
	text, err := rdb.Info(ctx, section).Result()
	if err != nil {
		return nil, fmt.Errorf("state: INFO %s: %w", section, err)
	}
	fields := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok {
			fields[k] = v
		}
	}
	return fields, nil
}
