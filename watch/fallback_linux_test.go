//go:build linux

package watch

import (
	"context"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// kernelLimitEnv marks the child process of TestWatchLimitKernel.
const kernelLimitEnv = "DEVD_WATCH_TEST_KERNEL_LIMIT"

// childWatchLimit is the watch limit of the child process.
const childWatchLimit = 3

// TestWatchLimitKernel runs a Watcher against the kernel's own limit. The
// limit is lowered only in a user namespace created for a child process,
// which leaves fs.inotify.max_user_watches of the machine alone.
func TestWatchLimitKernel(t *testing.T) {
	if os.Getenv(kernelLimitEnv) != "" {
		t.Skip("runs in the parent process only")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestWatchLimitKernelChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), kernelLimitEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
	}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start a process in a user namespace of its own: %v", err)
	}
	err := cmd.Wait()

	switch {
	case strings.Contains(out.String(), "--- SKIP: TestWatchLimitKernelChild"):
		t.Skipf("child process skipped:\n%s", out.String())
	case err != nil || !strings.Contains(out.String(), "--- PASS: TestWatchLimitKernelChild"):
		t.Fatalf("child process failed: %v\n%s", err, out.String())
	}
}

func TestWatchLimitKernelChild(t *testing.T) {
	if os.Getenv(kernelLimitEnv) == "" {
		t.Skip("runs in the child process of TestWatchLimitKernel")
	}
	limit := []byte(strconv.Itoa(childWatchLimit))
	if err := os.WriteFile("/proc/sys/user/max_inotify_watches", limit, 0o644); err != nil {
		t.Skipf("cannot lower the watch limit of the user namespace: %v", err)
	}

	root := symlinkFreeTempDir(t)
	files := makeTree(t, root, 4) // 9 folders
	var logs logBuffer
	w, err := newWatcher(Config{Roots: []string{root}, Logger: newTestLogger(&logs)},
		hooks{pollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatalf("New at the kernel's watch limit: %v", err)
	}

	assertLimitWarning(t, &logs, watchesSysctl, suggestedMaxWatches)
	if got := w.WatchCount(); got != childWatchLimit {
		t.Errorf("WatchCount = %d, want the limit, %d", got, childWatchLimit)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	// A change in the first folder arrives through inotify, one in the
	// last folder through polling.
	first, last := files[0], files[len(files)-1]
	if w.polled(first) || !slices.ContainsFunc(w.Polling(), func(p string) bool { return isWithin(last, p) }) {
		t.Fatalf("want %s watched and %s polled; Polling = %q", first, last, w.Polling())
	}
	writeTestFile(t, first, "changed")
	writeTestFile(t, last, "changed")
	missing := map[string]bool{first: true, last: true}
	deadline := time.After(waitLimit)
	for len(missing) > 0 {
		select {
		case p := <-w.Events():
			delete(missing, p)
		case <-deadline:
			t.Fatalf("changes not reported: %v", missing)
		}
	}
	if n := len(logs.lines("WARN")); n != 1 {
		t.Errorf("%d warnings logged, want 1", n)
	}
}
