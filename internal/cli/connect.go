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
	"github.com/attrsync/attrsync/internal/fieldcheck"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/kafka"
)

// connectTimeout bounds each check of validate --connect.
const connectTimeout = 15 * time.Second

// checkConnections reaches Kafka, Redis and Iterable, prints one line for
// each, then compares the mapped attributes' types with the project's
// fields. Checks run one after the other so that the lines come out in a
// fixed order. It returns validate's exit status: exitFailed when a system
// did not answer, exitUsage when the mapping conflicts with the project's
// field types (and iterable.allow_type_conflicts is false), else exitOK.
func checkConnections(cfg *config.Config, w io.Writer) int {
	checks := []struct {
		name  string
		check func(context.Context, *config.Config) (string, error)
	}{
		{"kafka", checkKafka},
		{"redis", checkRedis},
		{"iterable", checkIterable},
	}
	ok, iterableOK := true, false
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		detail, err := c.check(ctx, cfg)
		cancel()
		if err != nil {
			ok = false
			fmt.Fprintf(w, "%-9s FAILED: %v\n", c.name+":", err)
			continue
		}
		iterableOK = iterableOK || c.name == "iterable"
		fmt.Fprintf(w, "%-9s ok (%s)\n", c.name+":", detail)
	}
	fields := exitOK
	if iterableOK {
		fields = checkFieldTypes(cfg, w)
	}
	if !ok {
		return exitFailed
	}
	return fields
}

// checkFieldTypes compares the mapped attributes' types with the project's
// (users/getFields), prints a line per finding, and returns validate's exit
// status for them.
func checkFieldTypes(cfg *config.Config, w io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	api := iterable.New(cfg.IterableBaseURL(), cfg.Iterable.APIKey, iterable.WithUserAgent("attrsync/"+app.Version))
	rep, err := fieldcheck.Check(ctx, api, cfg.Iterable)
	if err != nil {
		fmt.Fprintf(w, "%-9s FAILED: %v\n", "fields:", err)
		return exitFailed
	}
	allowed := ""
	if cfg.Iterable.AllowTypeConflicts {
		allowed = " (allowed by iterable.allow_type_conflicts)"
	}
	for _, f := range rep.Conflicts() {
		fmt.Fprintf(w, "%-9s CONFLICT: %s%s\n", "fields:", f, allowed)
	}
	for _, f := range rep.Warnings() {
		fmt.Fprintf(w, "%-9s warning: %s\n", "fields:", f)
	}
	if len(rep.Findings) == 0 {
		fmt.Fprintf(w, "%-9s ok (%d mapped attributes fit the project's %d fields)\n", "fields:", rep.Attributes, rep.ProjectFields)
	}
	if rep.Err(cfg.Iterable.AllowTypeConflicts) != nil {
		return exitUsage
	}
	return exitOK
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
