package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/attrsync/attrsync/internal/redisserver"
)

// RedisCluster is a Redis Cluster of three masters without replicas, each a
// redis-server process on a free loopback port, owned by one test.
type RedisCluster struct {
	// Addrs are the masters' host:port, in the order they were created.
	Addrs []string
	// URL is the first master as a redis:// URL: what redis.url names, with
	// redis.cluster: true, in a sync's config (the seed node).
	URL string

	t     testing.TB
	nodes []*redisserver.Server
}

// clusterMasters is the smallest cluster redis-cli --cluster create makes.
const clusterMasters = 3

// StartRedisCluster starts three cluster-enabled redis-servers, joins them
// with redis-cli --cluster create (16384 slots over three masters), waits
// until every node reports the cluster ok, and stops the nodes when the
// test ends. Like StartRedis it fails the test when redis-server or
// redis-cli is missing.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	c := &RedisCluster{t: t}
	t.Cleanup(c.stop)
	for i := range clusterMasters {
		dir := filepath.Join(t.TempDir(), fmt.Sprintf("node%d", i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		srv, err := redisserver.New(dir)
		if err != nil {
			t.Fatalf("redis-server: %v", err)
		}
		srv.Args = []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"}
		if err := srv.Start(); err != nil {
			t.Fatalf("%v", err)
		}
		c.nodes = append(c.nodes, srv)
		c.Addrs = append(c.Addrs, srv.Addr)
	}
	c.URL = "redis://" + c.Addrs[0] + "/0"

	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli not found (apt-get install -y redis-tools): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, c.Addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitOK(ctx)
	return c
}

// waitOK waits until every node knows all masters and serves all slots:
// --cluster create returns before the gossip has settled everywhere.
func (c *RedisCluster) waitOK(ctx context.Context) {
	c.t.Helper()
	for _, addr := range c.Addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		for {
			info, err := rdb.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") &&
				strings.Contains(info, "cluster_known_nodes:3") && strings.Contains(info, "cluster_slots_ok:16384") {
				break
			}
			select {
			case <-ctx.Done():
				rdb.Close()
				c.t.Fatalf("redis cluster node %s not ok: %v\n%s", addr, err, info)
			case <-time.After(50 * time.Millisecond):
			}
		}
		rdb.Close()
	}
}

// Client returns a cluster client seeded with every master, closed when
// the test ends.
func (c *RedisCluster) Client() *redis.ClusterClient {
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	c.t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// stop kills every node (SIGKILL: nothing is saved).
func (c *RedisCluster) stop() {
	for _, n := range c.nodes {
		n.Stop()
	}
}
