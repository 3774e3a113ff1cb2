// Package app wires attrsync together: from one sync's configuration it
// builds the decoder, the mapping, the state in Redis, the Iterable client
// and its pacing, the dead-letter writer and the pipeline, and runs the
// pipeline on the Kafka runtime. The commands, the demo, the benchmark and
// the tests all build a sync here, so it is built one way.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/attrsync/attrsync/internal/cdc"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/fieldcheck"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/mapping"
	"github.com/attrsync/attrsync/internal/pipeline"
	"github.com/attrsync/attrsync/internal/state"
	"github.com/redis/go-redis/v9"
)

// Version is reported in Iterable's User-Agent and in telemetry.
const Version = "0.2.0"

// Options change how a sync is built.
type Options struct {
	// DryRun decodes, diffs and batches as usual and writes nothing: no
	// Iterable call, no state, no dead letter, no committed offset, and no
	// consumer-group membership.
	DryRun bool
	// Force re-sends every mapped attribute of the newest messages (replay
	// --force).
	Force bool
	// Observer is told what the pipeline does (metrics, traces); it also
	// hears of every lookup rate-limiter wait.
	Observer pipeline.Observer
	// HTTPClient sends Iterable's requests (an instrumented one, for traces
	// and metrics); nil means http.DefaultClient.
	HTTPClient *http.Client
}

// App is one sync with the connections it was built on.
type App struct {
	cfg      *config.Config
	opts     Options
	log      *slog.Logger
	Pipeline *pipeline.Pipeline
	Kafka    *kafka.Conn
	Redis    redis.UniversalClient
	Store    *state.Store
	Iterable *Iterable
	dlq      *kafka.Writer
	joined   atomic.Bool // in a consumer-group generation
}

// Build connects everything a sync needs, from its configuration: Redis
// (state and the global rate limit), the Iterable client with its paced
// endpoints, Kafka (the dead-letter topic is created when absent), the
// decoder and the mapping.
func Build(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	mapper, err := NewMapper(cfg)
	if err != nil {
		return nil, err
	}
	dec, err := NewDecoder(cfg, mapper)
	if err != nil {
		return nil, err
	}
	rdb, err := OpenRedis(cfg.Redis)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, opts: opts, log: log, Redis: rdb}
	if err := a.build(ctx, dec, mapper); err != nil {
		rdb.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) build(ctx context.Context, dec pipeline.Decoder, mapper *mapping.Mapper) error {
	cfg := a.cfg
	if err := a.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	store, err := state.New(ctx, a.Redis, cfg.Redis.KeyPrefix, cfg.Sync.Name, AttributeNames(cfg), state.WithLogger(a.log))
	if err != nil {
		return err
	}
	a.Store = store
	a.Iterable, err = NewIterable(cfg, a.Redis, a.opts.Observer, a.opts.HTTPClient)
	if err != nil {
		return err
	}
	a.Kafka, err = kafka.NewConn(cfg.Kafka)
	if err != nil {
		return err
	}
	if err := kafka.Check(ctx, a.Kafka); err != nil {
		return err
	}
	deps := pipeline.Deps{
		Decoder: dec, Mapper: mapper, Store: store, Index: store, API: a.Iterable, Pacer: a.Iterable.Bulk,
		Log: a.log, Observer: a.opts.Observer,
	}
	if a.opts.DryRun {
		deps.API, deps.Store, deps.Pacer = dryRunAPI{log: a.log}, readOnlyStore{store}, unlimited{}
		deps.Index = readOnlyIndex{store}
		deps.DLQ = discardDeadLetters{log: a.log}
	} else {
		if err := kafka.EnsureTopic(ctx, a.Kafka, cfg.DLQ.Topic, 1); err != nil {
			return err
		}
		a.dlq = kafka.NewWriter(a.Kafka, cfg.DLQ.Topic, kafka.WithLogger(a.log))
		deps.DLQ = a.dlq
	}
	a.Pipeline = pipeline.New(PipelineConfig(cfg, a.opts.Force), deps)
	if !a.opts.DryRun {
		return a.checkFieldTypes(ctx)
	}
	return nil
}

// checkFieldTypes compares the mapped attributes' types with the project's
// (users/getFields) before anything is sent: a certain conflict would have
// every user refused, so the sync does not start unless
// iterable.allow_type_conflicts says to; an uncertain one is a warning. An
// Iterable that cannot answer now does not keep the sync from starting: it
// is checked again at the next start, and a refused key pauses the sync
// like any other call would.
func (a *App) checkFieldTypes(ctx context.Context) error {
	rep, err := fieldcheck.Check(ctx, a.Iterable, a.cfg.Iterable)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		a.log.Warn("could not check the mapped fields' types against the project's (users/getFields); starting without", "err", err)
		return nil
	}
	for _, f := range rep.Warnings() {
		a.log.Warn("field types: " + f.String())
	}
	for _, f := range rep.Conflicts() {
		a.log.Error("field types: " + f.String())
	}
	return rep.Err(a.cfg.Iterable.AllowTypeConflicts)
}

// NewDecoder builds the decoder of the sync's source format, decoding only
// the fields the mapping reads, into rows that borrow the message value
// (cdc.BorrowValue). The avro and protobuf formats read their
// schemas from the schema registry, each schema once.
func NewDecoder(cfg *config.Config, mapper *mapping.Mapper) (*cdc.Decoder, error) {
	// Rows may borrow the message value: the Kafka runtime gives every
	// message a value of its own that nothing modifies, and the mapping
	// copies what outlives the row.
	// Updates hold the fields by index in the mapper's order
	// (cdc.ByIndex), which the mapper reads them by.
	opts := []cdc.Option{cdc.OnlyFields(mapper.SourceFields()...), cdc.BorrowValue(), cdc.ByIndex()}
	if movesEmails(cfg) {
		// The before image's email names the profile to move from, when
		// the source sends one.
		field, _, _ := strings.Cut(cfg.Iterable.Identifier.Source, ".")
		opts = append(opts, cdc.WithBefore(field))
	}
	if f := cfg.Source.Format; f == config.FormatAvro || f == config.FormatProtobuf {
		r := cfg.Source.SchemaRegistry
		reg, err := cdc.NewRegistry(cdc.RegistryConfig{
			URL: r.URL, Username: r.Username, Password: r.Password, BearerToken: r.BearerToken, CAFile: r.TLS.CAFile,
		})
		if err != nil {
			return nil, err
		}
		opts = append(opts, cdc.WithRegistry(reg))
	}
	return cdc.New(cfg.Source.Format, opts...)
}

// NewMapper builds the sync's mapping from rows to user changes.
func NewMapper(cfg *config.Config) (*mapping.Mapper, error) {
	return mapping.New(cfg.Mapping())
}

// PipelineConfig is the pipeline's part of a sync's configuration.
func PipelineConfig(cfg *config.Config, force bool) pipeline.Config {
	update := cfg.Iterable.Mode == config.ModeUpdate
	return pipeline.Config{
		MaxUsers: cfg.Batch.MaxUsers, MaxBytes: cfg.Batch.MaxBytes, MaxWait: cfg.Batch.MaxWait,
		Request: iterable.BulkRequest{
			CreateNewFields:    cfg.Iterable.CreateNewFields,
			MergeNestedObjects: cfg.Iterable.MergeNestedObjects,
			PreferUserID:       cfg.Iterable.PreferUserID,
			UpdateOnly:         update && cfg.Iterable.UpdateOnlyFlag,
		},
		UpdateMode:      update,
		MaxInFlight:     maxInFlight,
		RetryInitial:    cfg.Retry.InitialInterval,
		RetryMax:        cfg.Retry.MaxInterval,
		RetryMaxElapsed: cfg.Retry.MaxElapsed,
		IntentLease:     iterable.DefaultTimeout + 5*time.Second,
		Force:           force,
		MoveEmails:      movesEmails(cfg),
		TrackRows:       movesEmails(cfg) || cfg.Source.OnDelete == mapping.OnDeleteDelete,
	}
}

// movesEmails says whether a row whose email changed moves its profile.
func movesEmails(cfg *config.Config) bool {
	return cfg.Iterable.Identifier.As == mapping.AsEmail && cfg.Iterable.OnEmailChange != config.EmailChangeNewProfile
}

// maxInFlight bounds concurrent bulkUpdate requests per process: with
// Iterable's 5 requests per second and answers taking up to a second or
// so, a few keep the budget used while others are on the wire.
const maxInFlight = 8

// AttributeNames are the mapping's Iterable field names in mapping order:
// the layout of the sync's state.
func AttributeNames(cfg *config.Config) []string {
	out := make([]string, len(cfg.Iterable.Attributes))
	for i, a := range cfg.Iterable.Attributes {
		out[i] = a.To
	}
	return out
}

// Run syncs until ctx ends, then drains within shutdown_grace and commits.
// It joins the consumer group, except in a dry run, which reads from the
// group's committed offsets without membership and commits nothing, so a
// live sync of the same config is untouched.
func (a *App) Run(ctx context.Context) error {
	k := a.cfg.Kafka
	if a.opts.DryRun {
		claims, err := kafka.GroupOffsets(ctx, a.Kafka, k.GroupID, k.Topics, k.StartOffset)
		if err != nil {
			return err
		}
		return kafka.Read(ctx, a.Kafka, claims, a.readConfig(), a.start)
	}
	return kafka.RunGroup(ctx, a.Kafka, kafka.GroupConfig{
		Config: k, ShutdownGrace: a.cfg.ShutdownGrace, MaxHeldBytes: a.cfg.Batch.MaxHeldBytes, Logger: a.log,
	}, a.start)
}

// Ranges lists, for every partition of topics, the span from the first
// message at or after from (the earliest retained one when from is zero) to
// the end offset now.
func (a *App) Ranges(ctx context.Context, topics []string, from time.Time) ([]kafka.Range, error) {
	return kafka.Ranges(ctx, a.Kafka, topics, from)
}

// Replay makes one pass over ranges and returns once every message in them
// is finished. It joins no consumer group and commits nothing, so the live
// sync is untouched: messages a user's state already reflects are stale,
// and state is written only forward, compare-and-set, with the live sync's
// requests in flight respected. Replaying the dead-letter topic works the
// same way: records are judged by the original position in their headers,
// and records that fail again are appended after the ranges' end.
func (a *App) Replay(ctx context.Context, ranges []kafka.Range) error {
	return kafka.ReadRanges(ctx, a.Kafka, ranges, a.readConfig(), a.start)
}

func (a *App) readConfig() kafka.ReadConfig {
	return kafka.ReadConfig{ShutdownGrace: a.cfg.ShutdownGrace, MaxHeldBytes: a.cfg.Batch.MaxHeldBytes, Logger: a.log}
}

// start runs the pipeline on one session of the runtime.
func (a *App) start(ctx context.Context, claims []change.Position, f kafka.Finisher) kafka.Handler {
	a.joined.Store(true)
	return &session{Session: a.Pipeline.Start(ctx, claims, f), left: func() { a.joined.Store(false) }}
}

// session notes when the runtime's session is over, for readiness.
type session struct {
	*pipeline.Session
	left func()
}

func (s *session) Drain(ctx context.Context) {
	s.Session.Drain(ctx)
	s.left()
}

// Rates returns, per endpoint, the pace its limiter currently allows.
func (a *App) Rates() map[string]func() float64 {
	out := make(map[string]func() float64, len(a.Iterable.Limiters))
	for name, l := range a.Iterable.Limiters {
		out[name] = l.Rate
	}
	return out
}

// Stats returns a snapshot of the pipeline's counters.
func (a *App) Stats() pipeline.Snapshot { return a.Pipeline.Stats() }

// Close releases the connections.
func (a *App) Close() error {
	a.Pipeline.Close()
	var errs []error
	if a.dlq != nil {
		errs = append(errs, a.dlq.Close())
	}
	return errors.Join(append(errs, a.Redis.Close())...)
}
