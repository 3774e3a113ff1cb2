// Package pipeline wires attrsync together: Kafka messages are decoded and
// mapped, diffed against the state in Redis, coalesced per user, sent to
// Iterable, and their offsets committed once each is accepted, found
// unchanged, skipped by rule or dead-lettered. It is the one package that
// knows more than one outside system.
package pipeline

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/iterable"
	"github.com/attrsync/attrsync/internal/kafka"
	"github.com/attrsync/attrsync/internal/state"
)

// Decoder turns message bytes into a row (internal/cdc).
type Decoder interface {
	Decode(key, value []byte) (change.Row, error)
}

// Mapper turns a row into a user change (internal/mapping).
type Mapper interface {
	Map(row change.Row, pos change.Position) (change.UserChange, error)
}

// Iterable is the part of the API client the pipeline uses.
type Iterable interface {
	BulkUpdate(ctx context.Context, req iterable.BulkRequest) (iterable.BulkResult, error)
	UserExists(ctx context.Context, id change.Identifier) (bool, error)
}

// DeadLetterWriter appends records to the dead-letter topic durably.
type DeadLetterWriter interface {
	Write(ctx context.Context, msgs []change.Message) error
}

// Deps are what a pipeline is built from.
type Deps struct {
	Config  *config.Config
	Decoder Decoder
	Mapper  Mapper
	Store   *state.Store
	API     Iterable
	DLQ     DeadLetterWriter
	Log     *slog.Logger
	// DryRun decodes, diffs and batches as usual, logs the requests it
	// would send, and writes nothing: no Iterable call, no state, no dead
	// letter, no committed offset.
	DryRun bool
	// Observer is told what the pipeline does, for metrics and traces;
	// nil observes nothing.
	Observer Observer
}

// Pipeline syncs one configured sync.
type Pipeline struct {
	cfg    *config.Config
	dec    Decoder
	mapper Mapper
	store  *state.Store
	api    Iterable
	dlq    DeadLetterWriter
	log    *slog.Logger

	updateMode, updateOnlyFlag bool
	dryRun                     bool

	stats  Stats
	absent *absentCache
	auth   authState
	obs    Observer
	joined atomic.Bool // in a consumer-group generation
}

// New builds a pipeline.
func New(d Deps) *Pipeline {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	obs := d.Observer
	if obs == nil {
		obs = nopObserver{}
	}
	api := d.API
	if d.DryRun {
		api = dryRunAPI{log: log}
	}
	return &Pipeline{
		cfg: d.Config, dec: d.Decoder, mapper: d.Mapper, store: d.Store, api: api, dlq: d.DLQ, log: log,
		dryRun:         d.DryRun,
		obs:            obs,
		updateMode:     d.Config.Iterable.Mode == config.ModeUpdate,
		updateOnlyFlag: d.Config.Iterable.UpdateOnlyFlag,
		absent:         newAbsentCache(absentTTL, absentMax),
	}
}

// Stats returns the pipeline's live counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

// Ready reports whether the pipeline can make progress, and why not.
func (p *Pipeline) Ready() (bool, string) {
	if p.auth.refused() {
		return false, "Iterable refuses the API key (401/403)"
	}
	return true, "ok"
}

// Consume runs the sync as a member of its consumer group until ctx ends,
// then drains within shutdown_grace and commits.
//
// A rebalance drains for less: kafka-go stops heartbeating once a
// rebalance starts, so a member still draining after its session timeout
// is evicted and its partitions go to a new owner while its requests may
// still be out, which could put an older value over a newer one. Revoked
// work therefore gets the session timeout less two heartbeats; what is not
// finished by then is abandoned uncommitted and consumed again. On
// shutdown the heartbeats go on, so the whole grace is safe.
func (p *Pipeline) Consume(ctx context.Context, conn *kafka.Conn) error {
	k := p.cfg.Kafka
	shutdown := ctx
	revokeDrain := min(p.cfg.ShutdownGrace, max(k.SessionTimeout-2*k.HeartbeatInterval, time.Second))
	defer p.joined.Store(false)
	return kafka.RunGroup(ctx, conn, kafka.GroupConfig{
		GroupID: k.GroupID, Topics: k.Topics, StartOffset: k.StartOffset,
		SessionTimeout: k.SessionTimeout, HeartbeatInterval: k.HeartbeatInterval,
		DrainTimeout: p.cfg.ShutdownGrace, Logger: p.log,
	}, func(ctx context.Context, g *kafka.Generation) error {
		p.joined.Store(true)
		defer p.joined.Store(false)
		fetch := func(ctx context.Context, c kafka.Claim, deliver func(change.Message) bool) error {
			return kafka.Fetch(ctx, conn, c, deliver)
		}
		commit := g.Commit
		if p.dryRun {
			commit = func(map[string]map[int]int64) error { return nil }
		}
		drain := func() time.Duration {
			if shutdown.Err() != nil {
				return p.cfg.ShutdownGrace
			}
			return revokeDrain
		}
		return p.runSession(ctx, sessionOpts{claims: g.Claims, fetch: fetch, commit: commit, drain: drain})
	})
}

func (p *Pipeline) authFailed(err error) {
	if p.auth.fail() {
		p.log.Error("Iterable refuses the API key: consumption is paused and nothing is dead-lettered until it is accepted again; check iterable.api_key", "err", err)
	}
}

func (p *Pipeline) authOK() {
	if p.auth.succeed() {
		p.log.Info("Iterable accepts the API key again; resuming")
	}
}
