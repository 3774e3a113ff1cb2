package app

import (
	"errors"

	"github.com/attrsync/attrsync/internal/config"
	"github.com/redis/go-redis/v9"
)

// OpenRedis opens the Redis of the config: a single server, or a cluster
// whose seed is the URL's host. It does not connect yet.
func OpenRedis(cfg config.Redis) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(cfg.URL)
	if err != nil {
		return nil, errors.New("redis: url does not parse") // the URL may hold a password
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	if cfg.Cluster {
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: []string{opts.Addr}, Username: opts.Username, Password: opts.Password, TLSConfig: opts.TLSConfig,
		}), nil
	}
	return redis.NewClient(opts), nil
}
