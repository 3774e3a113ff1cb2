package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/fieldcheck"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/kafka"
)

// connectTimeout bounds each check of validate --connect.
const connectTimeout = 15 * time.Second

// checkConnections reaches Kafka, Redis, the schema registry when the
// source format reads one, and Iterable, prints one line for each, then
// compares the mapped attributes' types with the project's
// fields. Checks run one after the other so that the lines come out in a
// fixed order. It returns validate's exit status: exitFailed when a system
// did not answer, exitUsage when the mapping conflicts with the project's
// field types (and iterable.allow_type_conflicts is false), else exitOK.
func checkConnections(cfg *config.Config, w io.Writer) int {
	type check struct {
		name  string
		check func(context.Context, *config.Config) (string, error)
	}
	checks := []check{{"kafka", checkKafka}, {"redis", checkRedis}}
	if f := cfg.Source.Format; f == config.FormatAvro || f == config.FormatProtobuf {
		checks = append(checks, check{"schema registry", checkSchemaRegistry})
	}
	checks = append(checks, check{"iterable", checkIterable})
	// The results line up after the longest name.
	width := len("fields:")
	for _, c := range checks {
		width = max(width, len(c.name)+1)
	}
	ok, iterableOK := true, false
	for _, c := range checks {
		ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
		detail, err := c.check(ctx, cfg)
		cancel()
		if err != nil {
			ok = false
			fmt.Fprintf(w, "%-*s FAILED: %v\n", width, c.name+":", err)
			continue
		}
		iterableOK = iterableOK || c.name == "iterable"
		fmt.Fprintf(w, "%-*s ok (%s)\n", width, c.name+":", detail)
	}
	fields := exitOK
	if iterableOK {
		fields = checkFieldTypes(cfg, w, width)
	}
	if !ok {
		return exitFailed
	}
	return fields
}

// checkFieldTypes compares the mapped attributes' types with the project's
// (users/getFields), prints a line per finding with its label width
// characters wide, and returns validate's exit status for them.
func checkFieldTypes(cfg *config.Config, w io.Writer, width int) int {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	api := iterable.New(cfg.IterableBaseURL(), cfg.Iterable.APIKey, iterable.WithUserAgent("attrsync/"+app.Version))
	rep, err := fieldcheck.Check(ctx, api, cfg.Iterable)
	if err != nil {
		fmt.Fprintf(w, "%-*s FAILED: %v\n", width, "fields:", err)
		return exitFailed
	}
	allowed := ""
	if cfg.Iterable.AllowTypeConflicts {
		allowed = " (allowed by iterable.allow_type_conflicts)"
	}
	for _, f := range rep.Conflicts() {
		fmt.Fprintf(w, "%-*s CONFLICT: %s%s\n", width, "fields:", f, allowed)
	}
	for _, f := range rep.Warnings() {
		fmt.Fprintf(w, "%-*s warning: %s\n", width, "fields:", f)
	}
	if len(rep.Findings) == 0 {
		fmt.Fprintf(w, "%-*s ok (%d mapped attributes fit the project's %d fields)\n", width, "fields:", rep.Attributes, rep.ProjectFields)
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

// checkSchemaRegistry lists the registry's subjects, with the configured
// credentials, and says whether each topic's value subject (Confluent's
// default TopicNameStrategy) is there. A missing one is not a failure: the
// connector registers it with its first message, and a connector with
// another subject name strategy never does.
func checkSchemaRegistry(ctx context.Context, cfg *config.Config) (string, error) {
	r := cfg.Source.SchemaRegistry
	reg, err := cdc.NewRegistry(cdc.RegistryConfig{
		URL: r.URL, Username: r.Username, Password: r.Password, BearerToken: r.BearerToken, CAFile: r.TLS.CAFile,
	})
	if err != nil {
		return "", err
	}
	subjects, err := reg.Subjects(ctx)
	if err != nil {
		return "", err
	}
	var found, missing []string
	for _, t := range cfg.Kafka.Topics {
		if slices.Contains(subjects, t+"-value") {
			found = append(found, t+"-value")
		} else {
			missing = append(missing, t+"-value")
		}
	}
	detail := fmt.Sprintf("%s answered, %d subjects", r.URL, len(subjects))
	if len(subjects) == 1 {
		detail = strings.TrimSuffix(detail, "s")
	}
	if len(found) > 0 {
		detail += "; has " + strings.Join(found, ", ")
	}
	if len(missing) > 0 {
		detail += "; no subject " + strings.Join(missing, ", ") + " yet (the connector registers it with its first message)"
	}
	return detail, nil
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
