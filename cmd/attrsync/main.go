// Command attrsync keeps Iterable user profiles in step with a database's
// change stream. See README.md; `attrsync help` lists the commands.
package main

import (
	"os"

	"github.com/attrsync/attrsync/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
