// Command minebrain is the control-room application for mines. With no arguments it opens the
// desktop window; its subcommands run headless (see `minebrain help`).
package main

import (
	"os"

	"minebrain/app/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
}
