package main

import (
	"os"
	"os/exec"
	"syscall"
)

// inOwnUserNamespace makes cmd start in a user namespace of its own, mapped to
// the current user, where it may set its own inotify limits.
func inOwnUserNamespace(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	return nil
}
