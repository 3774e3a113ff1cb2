package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/attrsync/attrsync/internal/pipeline"
)

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
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

	startCtx, cancel := context.WithTimeout(ctx, time.Minute)
	sys, err := pipeline.Build(startCtx, cfg, log, pipeline.Options{})
	cancel()
	if err != nil {
		log.Error("cannot start", "err", err)
		return exitFailed
	}
	defer sys.Close()

	srv, err := serveHealth(cfg.Telemetry.Listen, sys.Pipeline)
	if err != nil {
		log.Error("cannot listen for telemetry", "addr", cfg.Telemetry.Listen, "err", err)
		return exitFailed
	}
	defer srv.Close()

	log.Info("attrsync running", "sync", cfg.Sync.Name, "group", cfg.Kafka.GroupID, "topics", cfg.Kafka.Topics, "mode", cfg.Iterable.Mode)
	if err := sys.Consume(ctx, sys.Kafka); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("sync stopped", "err", err)
		return exitFailed
	}
	st := sys.Stats()
	log.Info("attrsync stopped", "consumed", st.Consumed.Load(), "accepted", st.Accepted.Load(),
		"unchanged", st.Unchanged.Load(), "stale", st.Stale.Load(), "skipped", st.Skipped.Load(),
		"absent", st.Absent.Load(), "dead_lettered", st.DeadLettered.Load())
	return exitOK
}

// serveHealth serves /healthz (the process is alive) and /readyz (it can
// make progress) on addr.
func serveHealth(addr string, p *pipeline.Pipeline) (*http.Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, why := p.Ready()
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, why)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l) //nolint:errcheck // ends with Close
	return srv, nil
}
