package watch

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
)

func TestAddWatchErrorWatchLimit(t *testing.T) {
	err := addWatchError("/src/app", syscall.ENOSPC)

	if !errors.Is(err, ErrWatchLimit) {
		t.Error("error does not wrap ErrWatchLimit")
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Error("error does not wrap ENOSPC")
	}
	msg := err.Error()
	for _, want := range []string{
		"/src/app",
		"fs.inotify.max_user_watches is " + readSysctl("fs.inotify.max_user_watches"),
		"sudo sysctl fs.inotify.max_user_watches=524288",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestAddWatchErrorOther(t *testing.T) {
	err := addWatchError("/src/app", syscall.EACCES)

	if errors.Is(err, ErrWatchLimit) {
		t.Error("a permission error wraps ErrWatchLimit")
	}
	if !errors.Is(err, syscall.EACCES) {
		t.Error("error does not wrap EACCES")
	}
	if want := "adding watch for /src/app: permission denied"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestNewWatcherErrorInstanceLimit(t *testing.T) {
	// fsnotify wraps the error of inotify_init1 this way.
	err := newWatcherError(fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE))

	if !errors.Is(err, ErrWatchLimit) {
		t.Error("error does not wrap ErrWatchLimit")
	}
	msg := err.Error()
	for _, want := range []string{
		"fs.inotify.max_user_instances is " + readSysctl("fs.inotify.max_user_instances"),
		"sudo sysctl fs.inotify.max_user_instances=512",
		"ulimit -n",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
}

func TestReadSysctl(t *testing.T) {
	data, err := os.ReadFile("/proc/sys/fs/inotify/max_user_watches")
	if err != nil {
		t.Skipf("no inotify sysctl on this system: %v", err)
	}
	if got, want := readSysctl("fs.inotify.max_user_watches"), strings.TrimSpace(string(data)); got != want {
		t.Errorf("readSysctl = %q, want %q", got, want)
	}
	if got := readSysctl("fs.inotify.no_such_setting"); got != "unknown" {
		t.Errorf("readSysctl of a missing sysctl = %q, want unknown", got)
	}
}
