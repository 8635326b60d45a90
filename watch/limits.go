package watch

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
)

// ErrWatchLimit is wrapped by the errors that describe a new inotify watch
// or instance rejected because a per-user limit is reached. The message of
// such an error names the sysctl to raise and the command that raises it. The
// Watcher logs these errors and polls instead, so New does not return them.
// Test with errors.Is.
var ErrWatchLimit = errors.New("inotify limit reached")

// Suggested values for the inotify limits. Linux 5.11 and later size the
// default watch limit from the machine's memory, up to 1048576, while older
// kernels default to 8192; 524288 covers large source trees and stays within
// what recent kernels choose themselves. The instance limit defaults to 128.
const (
	watchesSysctl         = "fs.inotify.max_user_watches"
	instancesSysctl       = "fs.inotify.max_user_instances"
	suggestedMaxWatches   = 524288
	suggestedMaxInstances = 512
)

// limitError is an error from the kernel caused by an inotify limit.
type limitError struct {
	op        string // failed operation, such as "adding watch for /src"
	sysctl    string
	suggested int
	hint      string // an extra cause of the same error, or ""
	err       error
}

func (e *limitError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v: %v: %s is %s", e.op, e.err, ErrWatchLimit, e.sysctl, readSysctl(e.sysctl))
	if e.hint != "" {
		fmt.Fprintf(&b, " (%s)", e.hint)
	}
	fmt.Fprintf(&b, "; raise it with \"sudo sysctl %s=%d\" and add the setting to /etc/sysctl.d/ to keep it after a reboot",
		e.sysctl, e.suggested)
	return b.String()
}

func (e *limitError) Unwrap() []error { return []error{ErrWatchLimit, e.err} }

// addWatchError wraps an error returned when adding a watch for path.
func addWatchError(path string, err error) error {
	op := "adding watch for " + path
	if errors.Is(err, syscall.ENOSPC) {
		return &limitError{op: op, sysctl: watchesSysctl, suggested: suggestedMaxWatches, err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// newWatcherError wraps an error returned when creating an inotify instance.
func newWatcherError(err error) error {
	const op = "creating inotify instance"
	if errors.Is(err, syscall.EMFILE) {
		return &limitError{
			op:        op,
			sysctl:    instancesSysctl,
			suggested: suggestedMaxInstances,
			hint:      "the same error is returned when the process reaches its open file limit, see ulimit -n",
			err:       err,
		}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// readSysctl returns the current value of a sysctl from /proc/sys, or
// "unknown" where it cannot be read.
func readSysctl(name string) string {
	data, err := os.ReadFile("/proc/sys/" + strings.ReplaceAll(name, ".", "/"))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
