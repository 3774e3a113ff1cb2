package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// Claim is one partition a generation assigned to this member, with the
// offset consumption starts at (the committed offset, or kafka-go's
// FirstOffset/LastOffset placeholder when the group has none).
type Claim struct {
	Topic     string
	Partition int
	Offset    int64
}

// Generation is what a member may do during one consumer-group generation.
type Generation struct {
	Claims []Claim
	gen    *kafkago.Generation
}

// Commit commits offsets (by topic and partition) for this generation.
func (g *Generation) Commit(offsets map[string]map[int]int64) error {
	if err := g.gen.CommitOffsets(offsets); err != nil {
		return fmt.Errorf("kafka: commit offsets: %w", err)
	}
	return nil
}

// GroupConfig configures a consumer group member.
type GroupConfig struct {
	GroupID           string
	Topics            []string
	StartOffset       string // earliest | latest
	SessionTimeout    time.Duration
	HeartbeatInterval time.Duration
	// DrainTimeout is the longest work takes to return after its
	// generation ends (the shutdown grace). The group's rebalance timeout
	// is at least this long, so the coordinator waits for a member that is
	// still finishing revoked work instead of handing its partitions to a
	// new owner while its requests are in flight.
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// RunGroup joins the group and calls work once per generation, with a
// context that ends when the generation ends (a rebalance) or ctx ends.
// kafka-go does not start the next generation until work has returned, so
// work must stop using its partitions and commit what it finished before
// returning: that is what keeps the new owner from racing the old one.
// RunGroup returns when ctx ends (after the current work returned) or when
// work returns an error.
func RunGroup(ctx context.Context, conn *Conn, cfg GroupConfig, work func(ctx context.Context, g *Generation) error) error {
	start := kafkago.FirstOffset
	if cfg.StartOffset == "latest" {
		start = kafkago.LastOffset
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
		StartOffset:            start,
		SessionTimeout:         cfg.SessionTimeout,
		HeartbeatInterval:      cfg.HeartbeatInterval,
		RebalanceTimeout:       max(cfg.SessionTimeout, cfg.DrainTimeout+5*time.Second),
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

	for {
		gen, err := cg.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, kafkago.ErrGroupClosed) {
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
		g := &Generation{gen: gen}
		for topic, parts := range gen.Assignments {
			for _, p := range parts {
				g.Claims = append(g.Claims, Claim{Topic: topic, Partition: p.ID, Offset: p.Offset})
			}
		}
		log.Info("consumer group: generation started", "group", cfg.GroupID, "generation", gen.ID, "partitions", len(g.Claims))
		errc := make(chan error, 1)
		gen.Start(func(gctx context.Context) {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stop := context.AfterFunc(gctx, cancel)
			defer stop()
			errc <- work(wctx, g)
		})
		if err := <-errc; err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}
