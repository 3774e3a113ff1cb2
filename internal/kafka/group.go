package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Claim is one partition a session reads, with the offset its consumption
// starts at (the committed offset, or kafka-go's FirstOffset/LastOffset
// placeholder when the group has none).
type Claim struct {
	Topic     string
	Partition int
	Offset    int64
}

// GroupConfig configures a consumer-group member: the sync's kafka
// settings, and how long and how much it may hold of unfinished work.
type GroupConfig struct {
	Config
	// ShutdownGrace is how long work may take to finish once the process
	// is asked to stop. The group's rebalance timeout is at least this
	// long, so the coordinator waits for a member that is still finishing
	// instead of handing its partitions to a new owner meanwhile.
	ShutdownGrace time.Duration
	// MaxHeldBytes bounds what the member holds of fetched but unfinished
	// messages (see costOf); ≤ 0 means no bound.
	MaxHeldBytes int64
	Logger       *slog.Logger
}

// revokeDrain is how long a session's work may go on once its generation
// ended. kafka-go stops heartbeating when a rebalance starts, so a member
// still working after its session timeout is evicted and its partitions
// go to a new owner while its requests may be out, which could put an
// older value over a newer one. Revoked work therefore gets the session
// timeout less two heartbeats; what is not finished by then is abandoned
// uncommitted and consumed again by the new owner.
func (c GroupConfig) revokeDrain() time.Duration {
	return min(c.ShutdownGrace, max(c.SessionTimeout-2*c.HeartbeatInterval, time.Second))
}

// RunGroup joins the group and runs a session per generation on the
// partitions assigned to this member, committing their finished offsets.
// kafka-go starts no next generation before the session returned, and the
// session returns only after its handler drained and its offsets were
// committed: that is what keeps a new owner from racing the old one.
//
// RunGroup returns when ctx ends (after the current session drained within
// ShutdownGrace), or with an error that retrying cannot heal, such as
// refused SASL credentials.
func RunGroup(ctx context.Context, conn *Conn, cfg GroupConfig, start StartFunc) error {
	startOffset := kafkago.FirstOffset
	if cfg.StartOffset == StartLatest {
		startOffset = kafkago.LastOffset
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	cg, err := kafkago.NewConsumerGroup(kafkago.ConsumerGroupConfig{
		ID:                     cfg.GroupID,
		Brokers:                conn.Brokers,
		Dialer:                 conn.dialer(),
		Topics:                 cfg.Topics,
		StartOffset:            startOffset,
		SessionTimeout:         cfg.SessionTimeout,
		HeartbeatInterval:      cfg.HeartbeatInterval,
		RebalanceTimeout:       max(cfg.SessionTimeout, cfg.ShutdownGrace+5*time.Second),
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
		JoinGroupBackoff:       time.Second,
		ErrorLogger: kafkago.LoggerFunc(func(msg string, args ...any) {
			log.Debug("kafka-go: " + fmt.Sprintf(msg, args...))
		}),
	})
	if err != nil {
		return fmt.Errorf("kafka: consumer group %s: %w", cfg.GroupID, err)
	}
	defer cg.Close()

	budget := newBudget(cfg.MaxHeldBytes)
	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
				return nil
			}
			if errors.Is(err, kafkago.SASLAuthenticationFailed) {
				// Credentials do not heal by retrying: stop, so the
				// process exits with the reason instead of hanging.
				return fmt.Errorf("kafka: consumer group %s: %w", cfg.GroupID, conn.explain(err))
			}
			log.Warn("consumer group: joining failed, retrying", "group", cfg.GroupID, "err", err)
			continue
		}
		var claims []Claim
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				claims = append(claims, Claim{Topic: topic, Partition: p.ID, Offset: p.Offset})
			}
		}
		log.Info("consumer group: generation started", "group", cfg.GroupID, "generation", gen.ID, "partitions", len(claims))
		errc := make(chan error, 1)
		gen.Start(func(gctx context.Context) {
			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(gctx, cancel)
			defer stop()
			s := &session{
				conn: conn, claims: claims, start: start, budget: budget, log: log,
				commit: func(o Offsets) error {
					if err := gen.CommitOffsets(o); err != nil {
						return fmt.Errorf("kafka: commit offsets: %w", err)
					}
					return nil
				},
				drain: func() (context.Context, context.CancelFunc) { return drainContext(ctx, gctx, cfg) },
			}
			errc <- s.run(sctx)
		})
		if err := <-errc; err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// drainContext is what a stopping session's work gets to finish. A
// generation that ended (a rebalance) gives its revoked work revokeDrain.
// Shutdown gives the whole grace, since heartbeats go on meanwhile, unless
// the generation ends during that drain: from then on, revokeDrain at most.
func drainContext(shutdown, generation context.Context, cfg GroupConfig) (context.Context, context.CancelFunc) {
	base := context.WithoutCancel(shutdown)
	if shutdown.Err() == nil {
		return context.WithTimeout(base, cfg.revokeDrain())
	}
	ctx, cancel := context.WithTimeout(base, cfg.ShutdownGrace)
	// A timer left running after the drain only cancels a context that is
	// already cancelled.
	stop := context.AfterFunc(generation, func() { time.AfterFunc(cfg.revokeDrain(), cancel) })
	return ctx, func() { stop(); cancel() }
}
