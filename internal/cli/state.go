package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/attrsync/attrsync/internal/app"
	"github.com/attrsync/attrsync/internal/config"
	"github.com/attrsync/attrsync/internal/state"
)

// stateTimeout bounds one state command's Redis work.
const stateTimeout = 5 * time.Minute

// stateCmd is `attrsync state inspect|reset`.
func stateCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "attrsync state: want inspect or reset\n\n%s", usage)
		return exitUsage
	}
	switch args[0] {
	case "inspect":
		return stateInspect(args[1:], stdout, stderr)
	case "reset":
		return stateReset(args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "attrsync state: unknown subcommand %q: want inspect or reset\n", args[0])
	return exitUsage
}

// openStore connects to the sync's state.
func openStore(ctx context.Context, cfg *config.Config) (*state.Store, func(), error) {
	rdb, err := app.OpenRedis(cfg.Redis)
	if err != nil {
		return nil, nil, err
	}
	store, err := state.New(ctx, rdb, cfg.Redis.KeyPrefix, cfg.Sync.Name, app.AttributeNames(cfg))
	if err != nil {
		rdb.Close()
		return nil, nil, err
	}
	return store, func() { rdb.Close() }, nil
}

func stateInspect(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("state inspect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	user := fs.String("user", "", "the user's email or userId, as the identifier is configured")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if *user == "" {
		fmt.Fprintln(stderr, "attrsync state inspect: --user ID is required")
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	mapper, err := app.NewMapper(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync state inspect:", err)
		return exitFailed
	}
	id, err := mapper.Identify(*user)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync state inspect:", err)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync state inspect:", err)
		return exitFailed
	}
	defer closeStore()
	rec, attrs, err := store.Inspect(ctx, id)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync state inspect:", err)
		return exitFailed
	}
	printRecord(stdout, cfg, id.Kind.String(), id.Value, rec, attrs)
	return exitOK
}

// printRecord shows what the state holds for one user.
func printRecord(w io.Writer, cfg *config.Config, kind, value string, rec state.Record, attrs []string) {
	fmt.Fprintf(w, "sync:        %s\n", cfg.Sync.Name)
	fmt.Fprintf(w, "user:        %s (%s)\n", value, kind)
	if part, off, ok := rec.Intent(); ok {
		fmt.Fprintf(w, "in doubt:    a request built up to partition %d offset %d was sent and its outcome never recorded;\n"+
			"             the next change sends every mapped attribute, and older messages are skipped\n", part, off)
	}
	if !rec.Found {
		fmt.Fprintln(w, "state:       none stored: the user's next change sends every mapped attribute it carries")
		return
	}
	topic := "a topic not in this config"
	for _, t := range cfg.Kafka.Topics {
		if rec.InTopic(t) {
			topic = t
		}
	}
	fmt.Fprintf(w, "position:    %s partition %d offset %d (messages at or before it are stale)\n", topic, rec.Partition, rec.Offset)
	fmt.Fprintf(w, "accepted at: %s\n", rec.AcceptedAt.UTC().Format(time.RFC3339))
	fmt.Fprintln(w, "fingerprints (of the values Iterable last accepted):")
	fps := rec.Fingerprints()
	width := 0
	for _, a := range attrs {
		width = max(width, len(a))
	}
	for i, a := range attrs {
		fp := "none stored (sent with the next change)"
		if i < len(fps) && fps[i] != 0 {
			fp = fmt.Sprintf("%016x", fps[i])
		}
		fmt.Fprintf(w, "  %-*s  %s\n", width, a, fp)
	}
}

func stateReset(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("state reset", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	if !*yes {
		fmt.Fprintf(stdout, "Drop all state of sync %q (key prefix %q)? The next pass re-sends every user's attributes to Iterable. Type yes to confirm: ",
			cfg.Sync.Name, cfg.Redis.KeyPrefix)
		answer, _ := bufio.NewReader(stdin).ReadString('\n')
		if !strings.EqualFold(strings.TrimSpace(answer), "yes") {
			fmt.Fprintln(stdout, "\nnothing dropped")
			return exitFailed
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), stateTimeout)
	defer cancel()
	store, closeStore, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync state reset:", err)
		return exitFailed
	}
	defer closeStore()
	n, err := store.Reset(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "attrsync state reset: %v (%d users dropped before the failure)\n", err, n)
		return exitFailed
	}
	fmt.Fprintf(stdout, "dropped the state of %d users of sync %q\n", n, cfg.Sync.Name)
	return exitOK
}
