package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/attrsync/attrsync/internal/mapping"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/change"
	"github.com/attrsync/attrsync/internal/prime"
	"github.com/attrsync/attrsync/internal/state"
)

// primeCmd streams Iterable's user export into the sync's existence set,
// resuming where an earlier run stopped. It builds what it needs from the
// config itself; the wiring will move to one place shared by every command.
func primeCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("prime", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	sinceFlag := fs.String("since", "", "where a first prime starts, RFC 3339 (default "+prime.DefaultSince().Format(time.DateOnly)+")")
	restart := fs.Bool("restart", false, "ignore the checkpoint and start over from --since")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	var since time.Time
	if *sinceFlag != "" {
		t, err := time.Parse(time.RFC3339, *sinceFlag)
		if err != nil {
			fmt.Fprintf(stderr, "attrsync prime: --since %q is not an RFC 3339 time (2019-01-01T00:00:00Z)\n", *sinceFlag)
			return exitUsage
		}
		since = t
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	mapper, err := app.NewMapper(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync prime:", err)
		return exitFailed
	}
	kind := change.Email
	if cfg.Iterable.Identifier.As == mapping.AsUserID {
		kind = change.UserID
	}
	rdb, err := app.OpenRedis(cfg.Redis)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync prime:", err)
		return exitFailed
	}
	defer rdb.Close()
	api, err := app.NewIterable(cfg, rdb, nil, nil)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync prime:", err)
		return exitFailed
	}

	// Log lines go through the reporter so they do not tear its bar.
	rep := newPrimeReporter(stderr)
	log := newLogger(cfg.Telemetry, rep)
	ctx, stop := signalContext(stderr)
	defer stop()
	set, err := state.NewExistence(ctx, rdb, cfg.Redis.KeyPrefix, cfg.Sync.Name)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync prime:", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "prime: sync %q, users by %s, from Iterable's user export (4 requests a minute)\n", cfg.Sync.Name, kind)
	go rep.run()
	start := time.Now()
	res, err := prime.Run(ctx, api, set,
		prime.NewRedisCheckpoint(rdb, cfg.Redis.KeyPrefix, cfg.Sync.Name),
		prime.Options{Kind: kind, Identify: mapper.Identify, Since: since, Restart: *restart, Progress: rep.update, Logger: log})
	rep.finish()

	fmt.Fprintf(stdout, "primed %d users of sync %q (exported from %s to %s)%s\n", res.Users, cfg.Sync.Name,
		res.Since.Format(time.RFC3339), res.Done.Format(time.RFC3339), resumedNote(res))
	fmt.Fprintf(stdout, "  skipped (no %s, or one the mapping refuses): %d; export requests: %d; elapsed: %s\n",
		kind, res.Skipped, res.Requests, time.Since(start).Round(time.Second))
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		fmt.Fprintf(stderr, "attrsync prime: interrupted; the next run resumes from %s\n", res.Done.Format(time.RFC3339))
		return exitFailed
	case err != nil:
		log.Error("prime failed; the next run resumes where it stopped", "err", err)
		return exitFailed
	}
	return exitOK
}

func resumedNote(p prime.Progress) string {
	if p.Resumed {
		return ", resuming an earlier run"
	}
	return ""
}

// primeReporter draws prime's progress: a bar redrawn in place on a
// terminal, a line now and then elsewhere.
type primeReporter struct {
	w     io.Writer
	tty   bool
	every time.Duration
	start time.Time

	mu      sync.Mutex
	last    prime.Progress
	seen    bool
	drawn   bool
	stop    chan struct{}
	stopped chan struct{}
}

func newPrimeReporter(w io.Writer) *primeReporter {
	r := &primeReporter{w: w, tty: isTerminal(w), every: 5 * time.Second, start: time.Now(),
		stop: make(chan struct{}), stopped: make(chan struct{})}
	if r.tty {
		r.every = 200 * time.Millisecond
	}
	return r
}

// update is prime.Options.Progress.
func (r *primeReporter) update(p prime.Progress) {
	r.mu.Lock()
	r.last, r.seen = p, true
	r.mu.Unlock()
}

func (r *primeReporter) run() {
	defer close(r.stopped)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.report()
		case <-r.stop:
			return
		}
	}
}

func (r *primeReporter) finish() {
	close(r.stop)
	<-r.stopped
	r.report()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drawn {
		fmt.Fprintln(r.w)
		r.drawn = false
	}
}

func (r *primeReporter) report() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.seen {
		return
	}
	line := primeLine(r.last, time.Since(r.start).Round(time.Second))
	if r.tty {
		fmt.Fprintf(r.w, "\r\x1b[K%s", line)
		r.drawn = true
		return
	}
	fmt.Fprintf(r.w, "prime: %s\n", line)
}

// Write lets log lines pass the bar.
func (r *primeReporter) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drawn {
		fmt.Fprint(r.w, "\r\x1b[K")
		r.drawn = false
	}
	return r.w.Write(b)
}

// primeLine renders one progress line: how much of the date range is done,
// users marked, requests made.
func primeLine(p prime.Progress, elapsed time.Duration) string {
	const width = 30
	pct := int(p.Fraction() * 100)
	full := pct * width / 100
	return fmt.Sprintf("[%s%s] %3d%% exported up to %s, %d users, %d requests, %s",
		strings.Repeat("#", full), strings.Repeat(" ", width-full), pct,
		p.Done.Format(time.DateOnly), p.Users, p.Requests, elapsed)
}
