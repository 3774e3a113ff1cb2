package cli

import (
	"flag"
	"fmt"
	"io"
)

func validate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("c", "", "config file")
	connect := fs.Bool("connect", false, "also reach Kafka, Redis and Iterable and report each")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	cfg, code := loadConfig(*path, stderr)
	if cfg == nil {
		return code
	}
	fmt.Fprintf(stdout, "%s: config OK (sync %q, %d attributes, mode %s)\n", *path, cfg.Sync.Name, len(cfg.Iterable.Attributes), cfg.Iterable.Mode)
	if *connect {
		return checkConnections(cfg, stdout)
	}
	return exitOK
}
