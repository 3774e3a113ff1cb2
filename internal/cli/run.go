package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/telemetry"
)

// telemetryFlushTimeout bounds the last export of metrics and traces at exit.
const telemetryFlushTimeout = 10 * time.Second

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signalContext(stderr)
	defer stop()
	return runSync(ctx, args, stdout, stderr)
}

// runSync is `attrsync run` until ctx ends (a signal, or a test).
func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	dryRun := fs.Bool("dry-run", false, "decode, diff and batch as usual and log the requests; send nothing, save no state, commit no offset")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	log := newLogger(cfg.Telemetry, stderr)

	tel, err := telemetry.New(ctx, telemetry.Config{
		Sync: cfg.Sync.Name, Version: app.Version, OTLPEndpoint: cfg.Telemetry.OTLPEndpoint, Log: log,
	})
	if err != nil {
		log.Error("cannot start telemetry", "err", err)
		return exitFailed
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), telemetryFlushTimeout)
		defer cancel()
		if err := tel.Shutdown(fctx); err != nil {
			log.Warn("telemetry: last export failed", "err", err)
		}
	}()

	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	sync, err := app.Build(startCtx, cfg, log, app.Options{
		DryRun: *dryRun, Observer: tel, HTTPClient: tel.HTTPClient(),
	})
	cancel()
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailed
	}
	defer sync.Close()
	if err := errors.Join(tel.ObserveStats(sync.Stats), tel.ObserveRates(sync.Rates())); err != nil {
		log.Error("cannot start telemetry", "err", err)
		return exitFailed
	}

	srv, err := tel.Serve(cfg.Telemetry.Listen, sync)
	if err != nil {
		log.Error("cannot listen for telemetry", "addr", cfg.Telemetry.Listen, "err", err)
		return exitFailed
	}
	defer srv.Close()

	log.Info("attrsync running", "sync", cfg.Sync.Name, "group", cfg.Kafka.GroupID, "topics", cfg.Kafka.Topics,
		"mode", cfg.Iterable.Mode, "dry_run", *dryRun, "telemetry", srv.Addr().String())
	if err := sync.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("sync stopped", "err", err)
		return exitFailed
	}
	st := sync.Stats()
	log.Info("attrsync stopped", "consumed", st.Consumed, "accepted", st.Accepted,
		"unchanged", st.Unchanged, "stale", st.Stale, "skipped", st.Skipped,
		"absent", st.Absent, "dead_lettered", st.DeadLettered)
	if *dryRun {
		fmt.Fprintf(stdout, "dry run: %d messages read, %d users would have been sent; nothing was written\n",
			st.Consumed, st.UsersChanged)
	}
	return exitOK
}
