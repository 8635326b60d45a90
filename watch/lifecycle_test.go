package watch

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// inotifyWatches returns the number of inotify instances and watches this
// process holds, from /proc/self/fdinfo.
func inotifyWatches(t *testing.T) (instances, watches int) {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list file descriptors: %v", err)
	}
	for _, e := range entries {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil || target != "anon_inode:inotify" {
			continue
		}
		info, err := os.ReadFile("/proc/self/fdinfo/" + e.Name())
		if err != nil {
			continue
		}
		instances++
		watches += strings.Count(string(info), "inotify wd:")
	}
	return instances, watches
}

// waitGoroutines waits until at most want goroutines run, and fails with a
// dump of every goroutine when that does not happen in time.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines run, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:n])
		}
		time.Sleep(5 * time.Millisecond) // polling interval for the condition
	}
}

func TestRestartLeaksNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		hooks hooks
	}{
		{name: "native"},
		{name: "polling", cfg: Config{Poll: time.Millisecond}},
		{name: "watch limit", hooks: hooks{addWatch: limitedAdd(2), pollInterval: time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := symlinkFreeTempDir(t)
			makeTree(t, root, 3)
			goroutines := runtime.NumGoroutine()
			instances, watches := inotifyWatches(t)

			for i := range 10 {
				cfg := tc.cfg
				cfg.Roots = []string{root}
				w, err := newWatcher(cfg, tc.hooks)
				if err != nil {
					t.Fatalf("New in cycle %d: %v", i, err)
				}

				// Each cycle runs until the Watcher reported a change.
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- w.Run(ctx) }()
				changed := filepath.Join(root, "d02", "sub", "f")
				writeTestFile(t, changed, "cycle")
				select {
				case <-w.Events():
				case <-time.After(waitLimit):
					t.Fatalf("no change reported in cycle %d", i)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run in cycle %d: %v", i, err)
				}
			}

			waitGoroutines(t, goroutines)
			gotInstances, gotWatches := inotifyWatches(t)
			if gotInstances != instances || gotWatches != watches {
				t.Errorf("after 10 restarts the process holds %d inotify instances and %d watches more, want none",
					gotInstances-instances, gotWatches-watches)
			}
		})
	}
}
