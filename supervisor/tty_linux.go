//go:build linux

package supervisor

import (
	"os/signal"
	"syscall"
	"unsafe"
)

// stdinFd is the descriptor the command's terminal, if any, comes in on.
const stdinFd = 0

// controllingTTY returns stdinFd when stdin is the supervisor's controlling
// terminal (a container with `tty: true`), or -1.
func controllingTTY() int {
	var pgrp int32
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, stdinFd, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp)))
	if errno != 0 {
		return -1
	}
	return stdinFd
}

// giveTerminal makes pgid the foreground process group of the terminal fd,
// so the command, which runs in a group of its own, can read from it and
// gets the keyboard's signals. Once a first command has had the terminal,
// the supervisor is in a background group and the kernel would stop it with
// SIGTTOU for this call, so SIGTTOU is ignored around it. Only the owner
// goroutine starts processes, so no child inherits the ignored signal.
func giveTerminal(fd, pgid int) error {
	signal.Ignore(syscall.SIGTTOU)
	defer signal.Reset(syscall.SIGTTOU)
	p := int32(pgid)
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p)))
	if errno != 0 {
		return errno
	}
	return nil
}
