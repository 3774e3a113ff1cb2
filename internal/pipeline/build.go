package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/ratelimit"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/redis/go-redis/v9"
)

// Version is reported in Iterable's User-Agent.
const Version = "0.1.0"

// System is a pipeline with the connections it was built on.
type System struct {
	*Pipeline
	Kafka *kafka.Conn
	Redis redis.UniversalClient
	dlq   *kafka.Writer
}

// Close releases the connections.
func (s *System) Close() error {
	return errors.Join(s.dlq.Close(), s.Redis.Close())
}

// Options change how a built pipeline behaves.
type Options struct {
	// DryRun: see Deps.DryRun.
	DryRun bool
	// Observer: see Deps.Observer. Build also reports every rate-limiter
	// wait to it.
	Observer Observer
	// HTTPClient sends Iterable's requests (an instrumented one, for
	// traces and metrics); nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Build connects everything a sync needs, from its configuration: Redis
// (state and the global rate limit), the Iterable client with its paced
// endpoints, Kafka (the dead-letter topic is created when absent), the
// decoder and the mapping.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*System, error) {
	mapper, err := mapping.New(cfg.Iterable, cfg.Source.OnDelete)
	if err != nil {
		return nil, err
	}
	dec, err := cdc.New(cfg.Source.Format, cdc.OnlyFields(mapper.SourceFields()...))
	if err != nil {
		return nil, err
	}
	rdb, err := NewRedis(cfg.Redis)
	if err != nil {
		return nil, err
	}
	sys, err := build(ctx, cfg, log, rdb, dec, mapper, opts)
	if err != nil {
		rdb.Close()
		return nil, err
	}
	return sys, nil
}

func build(ctx context.Context, cfg *config.Config, log *slog.Logger, rdb redis.UniversalClient, dec Decoder, mapper Mapper, opts Options) (*System, error) {
	if err := rdb.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	attrs := make([]string, len(cfg.Iterable.Attributes))
	for i, a := range cfg.Iterable.Attributes {
		attrs[i] = a.To
	}
	store, err := state.New(ctx, rdb, cfg.Redis.KeyPrefix, cfg.Sync.Name, attrs)
	if err != nil {
		return nil, err
	}
	bulk, lookup, err := ratelimit.New(cfg.RateLimit, rdb, cfg.Sync.Name, cfg.Redis.KeyPrefix)
	if err != nil {
		return nil, err
	}
	if opts.Observer != nil {
		bulk = observedLimiter{Pacer: bulk, endpoint: "bulkUpdate", obs: opts.Observer}
		lookup = observedLimiter{Pacer: lookup, endpoint: "lookup", obs: opts.Observer}
	}
	api := iterable.New(cfg.IterableBaseURL(), cfg.Iterable.APIKey,
		iterable.WithBulkLimiter(bulk), iterable.WithLookupLimiter(lookup),
		iterable.WithUserAgent("attrsync/"+Version), iterable.WithHTTPClient(opts.HTTPClient))
	conn, err := kafka.NewConn(cfg.Kafka)
	if err != nil {
		return nil, err
	}
	if err := kafka.Check(ctx, conn); err != nil {
		return nil, err
	}
	if !opts.DryRun {
		if err := kafka.EnsureTopic(ctx, conn, cfg.DLQ.Topic, 1); err != nil {
			return nil, err
		}
	}
	w := kafka.NewWriter(conn, cfg.DLQ.Topic)
	p := New(Deps{Config: cfg, Decoder: dec, Mapper: mapper, Store: store, API: api, DLQ: w, Log: log, DryRun: opts.DryRun, Observer: opts.Observer})
	return &System{Pipeline: p, Kafka: conn, Redis: rdb, dlq: w}, nil
}

// NewRedis opens the Redis of the config: a single server, or a cluster
// whose seed is the URL's host.
func NewRedis(cfg config.Redis) (redis.UniversalClient, error) {
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
