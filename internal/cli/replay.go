package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/pipeline"
)

// replayCmd makes one pass over the sync's topics from a point in time (or
// the earliest retained message) up to the end offsets seen at start. It
// joins no consumer group and commits nothing, so a live sync of the same
// config is untouched; messages its users' state already reflects are
// skipped as stale, so only real changes are sent.
func replayCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	fromFlag := fs.String("from", "", "where to start: an RFC 3339 time (2025-01-31T00:00:00Z) or earliest")
	force := fs.Bool("force", false, "re-send every mapped attribute of the replayed users, changed or not")
	dryRun := fs.Bool("dry-run", false, "decode, diff and batch, log the requests, and write nothing")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	from, err := parseFrom(*fromFlag)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync replay:", err)
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	// Log lines go through the progress reporter so they do not tear its bar.
	prog := newProgress(stderr)
	log := newLogger(cfg.Telemetry, prog)
	ctx, stop := signalContext(stderr)
	defer stop()

	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	sync, err := app.Build(startCtx, cfg, log, app.Options{DryRun: *dryRun, Force: *force})
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailed
	}
	defer sync.Close()
	ranges, err := sync.Ranges(startCtx, cfg.Kafka.Topics, from)
	if err != nil {
		log.Error("cannot list the offsets to replay", "err", err)
		return exitFailed
	}
	cancel()

	var total int64
	for _, r := range ranges {
		total += max(r.End-r.Start, 0)
	}
	parts := "partitions"
	if len(ranges) == 1 {
		parts = "partition"
	}
	fmt.Fprintf(stderr, "replay: %d messages in %d %s of %v, from %s%s\n", total, len(ranges), parts, cfg.Kafka.Topics, *fromFlag, modeNote(*force, *dryRun))
	prog.begin(total, func() (int64, int64) { st := sync.Stats(); return st.Finished(), st.Requests })
	go prog.run()
	start := time.Now()
	err = sync.Replay(ctx, ranges)
	prog.finish()
	elapsed := time.Since(start)

	printSummary(stdout, sync.Stats(), elapsed, *dryRun)
	switch {
	case err != nil && !errors.Is(err, context.Canceled):
		log.Error("replay failed", "err", err)
		return exitFailed
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "attrsync replay: interrupted; what was sent stays sent, the rest can be replayed again")
		return exitFailed
	}
	return exitOK
}

// parseFrom reads --from: "earliest" is the zero time.
func parseFrom(s string) (time.Time, error) {
	switch s {
	case "":
		return time.Time{}, errors.New("--from is required: an RFC 3339 time (2025-01-31T00:00:00Z) or earliest")
	case "earliest":
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--from %q is neither an RFC 3339 time (2025-01-31T00:00:00Z) nor earliest", s)
	}
	return t, nil
}

func modeNote(force, dryRun bool) string {
	switch {
	case force && dryRun:
		return " (force, dry run)"
	case force:
		return " (force)"
	case dryRun:
		return " (dry run)"
	}
	return ""
}

func printSummary(w io.Writer, st pipeline.Snapshot, elapsed time.Duration, dryRun bool) {
	title := "replay summary"
	requests := "requests"
	if dryRun {
		title += " (dry run: nothing was written)"
		requests = "requests (not sent)"
	}
	fmt.Fprintln(w, title)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, row := range []struct {
		name string
		n    int64
	}{
		{"messages", st.Consumed},
		{"sent users", st.UsersChanged},
		{"unchanged users", st.UsersUnchanged},
		{"stale messages", st.Stale},
		{"skipped messages", st.Skipped},
		{"dead letters", st.DeadLettered},
		{requests, st.Requests},
	} {
		fmt.Fprintf(tw, "  %s\t%d\n", row.name, row.n)
	}
	fmt.Fprintf(tw, "  elapsed\t%s\n", elapsed.Round(time.Millisecond))
	tw.Flush()
}
