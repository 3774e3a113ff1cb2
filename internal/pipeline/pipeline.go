// Package pipeline is attrsync's sync algorithm: for each message the Kafka
// runtime hands it, decode and map it, coalesce changes per user, diff them
// against what Iterable last accepted, cut bulkUpdate requests when the rate
// limit grants a turn, send them, settle each user's outcome (state
// advanced, or dead-lettered), and tell the runtime which messages are
// finished. It works against interfaces it declares (deps.go) and knows
// neither Kafka nor Redis; internal/app wires it to them. See DESIGN.md
// beside this file for the path of one message.
package pipeline

import (
	"context"
	"log/slog"
	"sync"

	"github.com/attrsync/attrsync/internal/change"
)

// Deps are the outside systems a pipeline works with.
type Deps struct {
	Decoder  Decoder
	Mapper   Mapper
	Store    Store
	Index    Index // nil: see Index
	API      API
	Pacer    Pacer
	DLQ      DeadLetters
	Log      *slog.Logger
	Observer Observer // nil observes nothing
}

// Pipeline syncs one configured sync. It outlives sessions: its counters,
// its negative lookup cache and whether Iterable accepts the API key carry
// over from one consumer-group generation to the next.
type Pipeline struct {
	cfg Config
	Deps
	stats  Stats
	absent *absentCache
	auth   *authGate

	warnedMu sync.Mutex
	warned   map[string]bool // filtered-out fields already logged
}

// New builds a pipeline.
func New(cfg Config, d Deps) *Pipeline {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Observer == nil {
		d.Observer = nopObserver{}
	}
	cfg = cfg.defaults()
	p := &Pipeline{cfg: cfg, Deps: d, absent: newAbsentCache(absentTTL, absentMax)}
	p.auth = newAuthGate(d.API, cfg.probeInterval(), d.Log)
	return p
}

// Stats returns a snapshot of the pipeline's counters.
func (p *Pipeline) Stats() Snapshot { return p.stats.snapshot() }

// Ready reports whether the pipeline can make progress, and why not.
func (p *Pipeline) Ready() (bool, string) {
	if p.auth.refused() {
		return false, "Iterable refuses the API key (401/403) or its certificate; probing every " + p.cfg.probeInterval().String()
	}
	return true, "ok"
}

// Start begins a session over claims (a consumer-group generation, or one
// bounded read) and returns it; it implements internal/kafka's StartFunc
// once wired. ctx ends when the session must stop taking new work; f is
// told of every message that finishes.
func (p *Pipeline) Start(ctx context.Context, claims []change.Position, f Finisher) *Session {
	return startSession(ctx, p, claims, f)
}

// Close stops what the pipeline runs beside its sessions (the probe of a
// refused API key).
func (p *Pipeline) Close() { p.auth.close() }

// filteredOut counts fields Iterable did not store, and names each the
// first time: a field name is not personal data, and an operator needs it
// to see that createNewFields is off for a field the mapping sends.
func (p *Pipeline) filteredOut(fields []string) {
	p.stats.FieldsFilteredOut.Add(int64(len(fields)))
	p.warnedMu.Lock()
	defer p.warnedMu.Unlock()
	if p.warned == nil {
		p.warned = map[string]bool{}
	}
	for _, f := range fields {
		if !p.warned[f] {
			p.warned[f] = true
			p.Log.Warn("Iterable did not store a mapped field (filteredOutFields): it does not exist in the project and create_new_fields is off", "field", f)
		}
	}
}
