package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/kafka"
)

// connectTimeout bounds each check of validate --connect.
const connectTimeout = 15 * time.Second

// checkConnections reaches Kafka, Redis and Iterable, prints one line for
// each, and reports whether all answered. Checks run one after the other
// so that the lines come out in a fixed order.
func checkConnections(cfg *config.Config, w io.Writer) bool {
	checks := []struct {
		name  string
		check func(context.Context, *config.Config) (string, error)
	}{
		{"kafka", checkKafka},
		{"redis", checkRedis},
		{"iterable", checkIterable},
	}
	ok := true
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		detail, err := c.check(ctx, cfg)
		cancel()
		if err != nil {
			ok = false
			fmt.Fprintf(w, "%-9s FAILED: %v\n", c.name+":", err)
			continue
		}
		fmt.Fprintf(w, "%-9s ok (%s)\n", c.name+":", detail)
	}
	return ok
}

// checkKafka reads the metadata of the configured topics.
func checkKafka(ctx context.Context, cfg *config.Config) (string, error) {
	conn, err := kafka.NewConn(cfg.Kafka)
	if err != nil {
		return "", err
	}
	parts, err := kafka.Partitions(ctx, conn, cfg.Kafka.Topics)
	if err != nil {
		return "", err
	}
	var desc []string
	for _, t := range cfg.Kafka.Topics {
		n, found := parts[t]
		if !found || n == 0 {
			return "", fmt.Errorf("topic %s does not exist", t)
		}
		desc = append(desc, fmt.Sprintf("%s: %d partitions", t, n))
	}
	sort.Strings(desc)
	return strings.Join(desc, ", "), nil
}

// checkRedis sends PING.
func checkRedis(ctx context.Context, cfg *config.Config) (string, error) {
	rdb, err := app.OpenRedis(cfg.Redis)
	if err != nil {
		return "", err
	}
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		return "", fmt.Errorf("PING: %w", err)
	}
	return "PING answered", nil
}

// checkIterable looks up a user that need not exist.
func checkIterable(ctx context.Context, cfg *config.Config) (string, error) {
	api := iterable.New(cfg.IterableBaseURL(), cfg.Iterable.APIKey, iterable.WithUserAgent("attrsync/"+app.Version))
	if err := api.CheckKey(ctx); err != nil {
		if iterable.IsAuth(err) {
			return "", fmt.Errorf("API key refused (%d): check iterable.api_key", statusOfAPIError(err))
		}
		return "", err
	}
	return cfg.IterableBaseURL() + " answered a user lookup", nil
}

// statusOfAPIError is the HTTP status of an Iterable error, 0 if none.
func statusOfAPIError(err error) int {
	if e, ok := errors.AsType[*iterable.APIError](err); ok {
		return e.Status
	}
	return 0
}
