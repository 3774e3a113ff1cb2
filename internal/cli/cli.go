// Package cli implements attrsync's commands: flag parsing, exit statuses
// and signal handling around the pipeline.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/attrsync/attrsync/internal/config"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2 // bad flags or a refused config
)

const usage = `attrsync keeps Iterable user profiles in step with a CDC stream in Kafka.

Usage:
  attrsync run -c attrsync.yaml [--dry-run]
                                           sync until SIGINT/SIGTERM, then drain and commit;
                                           --dry-run logs the requests and writes nothing
  attrsync validate -c attrsync.yaml [--connect]
                                           check a config and list every problem; --connect
                                           also reaches Kafka, Redis and Iterable
  attrsync state inspect -c attrsync.yaml --user ID
                                           what the state holds for one user
  attrsync state reset -c attrsync.yaml [--yes]
                                           drop all state of the sync (asks first)
  attrsync replay -c attrsync.yaml --from <RFC3339 time|earliest> [--force] [--dry-run]
                                           one pass up to the end offsets seen at start; only real changes are sent
  attrsync prime -c attrsync.yaml [--since RFC3339] [--restart]
                                           mark the users Iterable has (its user export), so update mode
                                           needs no lookups for them; resumes where it stopped
  attrsync demo [flags]                    run the whole pipeline in one process, no setup
  attrsync dlq inspect -c attrsync.yaml    summarise the dead-letter topic by class and reason
  attrsync dlq replay -c attrsync.yaml     feed the dead-letter topic back through the pipeline
  attrsync help                            this text
`

// Main runs the command in args and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return run(rest, stdout, stderr)
	case "validate":
		return validate(rest, stdout, stderr)
	case "replay":
		return replayCmd(rest, stdout, stderr)
	case "prime":
		return primeCmd(rest, stdout, stderr)
	case "demo":
		return demoCmd(rest, stdout, stderr)
	case "state":
		return stateCmd(rest, os.Stdin, stdout, stderr)
	case "dlq":
		return dlqCmd(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "attrsync: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// loadConfig loads a config and prints why it was refused.
func loadConfig(path string, stderr io.Writer) (*config.Config, int) {
	if path == "" {
		fmt.Fprintln(stderr, "attrsync: -c FILE is required")
		return nil, exitUsage
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			return nil, exitUsage
		}
		return nil, exitFailed
	}
	return cfg, exitOK
}

// newLogger builds the logger telemetry.log_level and log_format ask for.
func newLogger(cfg config.Telemetry, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.LogFormat, "text") {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// signalContext ends on the first SIGINT or SIGTERM; a second one exits at
// once. Exiting then is safe: offsets are only committed for finished work,
// so whatever was in flight is consumed again.
func signalContext(stderr io.Writer) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		cancel()
		<-sigs
		fmt.Fprintln(stderr, "attrsync: second signal, exiting now")
		os.Exit(exitFailed)
	}()
	return ctx, func() { signal.Stop(sigs); cancel() }
}
