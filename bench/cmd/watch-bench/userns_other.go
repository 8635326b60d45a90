//go:build !linux

package main

import (
	"errors"
	"os/exec"
)

// inOwnUserNamespace returns an error: a watch limit of the child's own
// needs a user namespace, which only Linux has.
func inOwnUserNamespace(*exec.Cmd) error {
	return errors.New("-max-watches needs a Linux user namespace, which this system lacks: run without -max-watches")
}
