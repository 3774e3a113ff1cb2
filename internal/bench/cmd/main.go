// Command bench prints attrsync's performance figures beside their
// baselines from the same run (SPEC §5): `make bench`, or
//
//	go run ./internal/bench/cmd [-quick] [-users N] [-events N] [-snapshot N] [-broker kfake|real] [-cpuprofile prefix]
//
// It needs redis-server on the PATH, and Go to build the attrsync binary it
// runs as a child process. With -broker real it runs against the broker
// named by ATTRSYNC_KAFKA_BROKERS (`make bench BROKER=real` starts one with
// deploy/local/kafka/kafka.sh) instead of the in-process kfake. Progress goes to stderr; the table goes
// to stdout twice, as plain text and then as Markdown for the README.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/attrsync/attrsync/internal/bench"
)

func main() {
	opts := bench.DefaultOptions()
	quick := flag.Bool("quick", false, "small sizes for a CI smoke run (figures not to be quoted)")
	users := flag.Int("users", 0, fmt.Sprintf("synced users (default %d, quick %d)", opts.Users, bench.QuickOptions().Users))
	events := flag.Int("events", 0, fmt.Sprintf("update events per diff-path scenario (default %d, quick %d)", opts.Events, bench.QuickOptions().Events))
	snapshot := flag.Int("snapshot", 0, fmt.Sprintf("users of the smaller snapshot backlog attrsync run syncs as a child process; the larger has 5× (default %d, quick %d)", opts.SnapshotUsers, bench.QuickOptions().SnapshotUsers))
	broker := flag.String("broker", "kfake", "kfake (in-process) or real (the broker at $ATTRSYNC_KAFKA_BROKERS)")
	profile := flag.String("cpuprofile", "", "write CPU and allocation profiles and an execution trace of the diff-path pipeline runs to `prefix`.diff<rate>.*")
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
	if *snapshot > 0 {
		opts.SnapshotUsers = *snapshot
	}
	switch *broker {
	case "kfake":
	case "real":
		addrs := os.Getenv("ATTRSYNC_KAFKA_BROKERS")
		if addrs == "" {
			fmt.Fprintln(os.Stderr, "bench: -broker real needs ATTRSYNC_KAFKA_BROKERS (make bench BROKER=real starts a broker and sets it)")
			os.Exit(2)
		}
		opts.Brokers = strings.Split(addrs, ",")
		// kafka.sh (as make bench BROKER=real runs it) names its instance
		// directory, where the broker's pid file is.
		opts.BrokerPID = bench.BrokerPID(os.Getenv("ATTRSYNC_KAFKA_DIR"))
	default:
		fmt.Fprintf(os.Stderr, "bench: -broker %q: want kfake or real\n", *broker)
		os.Exit(2)
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
