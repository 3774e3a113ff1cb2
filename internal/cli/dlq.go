package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/dlq"
	"github.com/attrsync/attrsync/internal/kafka"
)

// dlqCmd runs "attrsync dlq inspect|replay".
func dlqCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "attrsync dlq: want inspect or replay")
		return exitUsage
	}
	switch args[0] {
	case "inspect":
		return dlqInspect(args[1:], stdout, stderr)
	case "replay":
		return dlqReplay(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "attrsync dlq: unknown subcommand %q: want inspect or replay\n", args[0])
	return exitUsage
}

// dlqInspect summarises the dead-letter topic: counts by class and reason,
// oldest and newest failure, and a few samples with identifiers masked.
func dlqInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dlq inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	samples := fs.Int("samples", 5, "how many records to show")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	ctx, stop := signalContext(stderr)
	defer stop()
	conn, err := kafka.NewConn(cfg.Kafka)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync:", err)
		return exitFailed
	}
	ranges, err := kafka.Ranges(ctx, conn, []string{cfg.DLQ.Topic}, time.Time{})
	if err != nil {
		fmt.Fprintln(stderr, "attrsync:", err)
		return exitFailed
	}
	sum := dlq.NewSummary(*samples)
	for _, r := range ranges {
		// Records arrive in partition order on this goroutine.
		err := kafka.ReadRange(ctx, conn, r, func(m change.Message) bool { sum.Add(m); return true })
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "attrsync:", err)
			return exitFailed
		}
	}
	fmt.Fprintf(stdout, "topic: %s\n", cfg.DLQ.Topic)
	if err := sum.Write(stdout); err != nil {
		return exitFailed
	}
	return exitOK
}

// dlqReplay feeds the dead-letter topic, as it is at start, back through
// the pipeline. Each record is judged by its original position, so one its
// user's state has moved past is skipped; one that fails again is
// dead-lettered once more, after the replayed range, so the pass ends.
func dlqReplay(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dlq replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg.Telemetry, stderr)
	ctx, stop := signalContext(stderr)
	defer stop()
	sync, err := app.Build(ctx, cfg, log, app.Options{})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailed
	}
	defer sync.Close()
	ranges, err := sync.Ranges(ctx, []string{cfg.DLQ.Topic}, time.Time{})
	if err != nil {
		log.Error("cannot read the dead-letter topic", "err", err)
		return exitFailed
	}
	if err := sync.Replay(ctx, ranges); err != nil {
		log.Error("dlq replay failed", "err", err)
		return exitFailed
	}
	st := sync.Stats()
	fmt.Fprintf(stdout, "replayed %d dead letters: %d accepted, %d unchanged, %d stale, %d skipped, %d absent, %d dead-lettered again\n",
		st.Consumed, st.Accepted, st.Unchanged, st.Stale, st.Skipped, st.Absent, st.DeadLettered)
	if ctx.Err() != nil {
		return exitFailed
	}
	return exitOK
}
