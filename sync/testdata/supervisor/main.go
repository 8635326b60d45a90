// Command supervisor replaces the `supervise rm` subcommand of devd's
// in-container supervisor, so that end-to-end tests can delete in images
// without rm. Usage: supervisor supervise rm --root ROOT -- PATH...
package main

import (
	"fmt"
	"os"

	filesync "github.com/devdtool/devd/sync"
)

func main() {
	args := os.Args[1:]
	if len(args) < 5 || args[0] != "supervise" || args[1] != "rm" || args[2] != "--root" || args[4] != "--" {
		fmt.Fprintln(os.Stderr, "usage: supervisor supervise rm --root ROOT -- PATH...")
		os.Exit(2)
	}
	if err := filesync.RemoveAll(args[3], args[5:]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
