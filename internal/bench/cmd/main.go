// Command bench prints attrsync's performance figures beside their
// baselines from the same run (SPEC §5): `make bench`, or
//
//	go run ./internal/bench/cmd [-quick] [-users N] [-events N] [-cpuprofile prefix]
//
// It needs redis-server on the PATH. Progress goes to stderr; the table goes
// to stdout twice, as plain text and then as Markdown for the README.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/attrsync/attrsync/internal/bench"
)

func main() {
	opts := bench.DefaultOptions()
	quick := flag.Bool("quick", false, "small sizes for a CI smoke run (figures not to be quoted)")
	users := flag.Int("users", 0, fmt.Sprintf("synced users (default %d, quick %d)", opts.Users, bench.QuickOptions().Users))
	events := flag.Int("events", 0, fmt.Sprintf("update events per diff-path scenario (default %d, quick %d)", opts.Events, bench.QuickOptions().Events))
	profile := flag.String("cpuprofile", "", "write CPU profiles of the diff-path pipeline runs to `prefix`.diff<rate>.pprof")
	flag.Parse()
	if *quick {
		opts = bench.QuickOptions()
	}
	if *users > 0 {
		opts.Users = *users
	}
	if *events > 0 {
		opts.Events = *events
	}
	opts.CPUProfile = *profile

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	table, err := bench.Run(ctx, opts, os.Stderr)
	if table != nil {
		fmt.Println()
		_ = table.WriteText(os.Stdout)
		fmt.Println()
		_ = table.WriteMarkdown(os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}
