package cli

import (
	"flag"
	"fmt"
	"github.com/attrsync/attrsync/internal/config"
	"io"

	"github.com/attrsync/attrsync/internal/demo"
)

func demoCmd(args []string, stdout, stderr io.Writer) int {
	opts := demo.DefaultOptions()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&opts.Users, "users", opts.Users, "users in the generated table")
	fs.IntVar(&opts.Events, "events", opts.Events, "change events to generate (the first of each user creates it)")
	fs.Float64Var(&opts.ChangeRate, "change-rate", opts.ChangeRate, "share of updates that change a mapped column (0..1)")
	mode := fs.String("mode", string(opts.Mode), "upsert (create missing users) or update (only users already in Iterable)")
	fs.IntVar(&opts.Partitions, "partitions", opts.Partitions, "partitions of the topic")
	fs.StringVar(&opts.Format, "format", opts.Format, "json (JsonConverter with schemas), avro or protobuf (Confluent wire format, with an embedded schema registry)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	opts.Mode = config.Mode(*mode)
	ctx, stop := signalContext(stderr)
	defer stop()
	sum, err := demo.Run(ctx, opts, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "attrsync demo:", err)
		return exitFailed
	}
	sum.Print(stdout)
	return exitOK
}
