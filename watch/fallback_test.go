package watch

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// waitLimit bounds every wait on the kernel or another goroutine in these
// tests. It only matters when a test fails.
const waitLimit = 5 * time.Second

// limitedAdd returns an addWatch hook that fails with ENOSPC, as the kernel
// does at fs.inotify.max_user_watches, once fsw holds max watches.
func limitedAdd(max int) func(*fsnotify.Watcher, string) error {
	return func(fsw *fsnotify.Watcher, path string) error {
		list := fsw.WatchList()
		if len(list) >= max && !slices.Contains(list, path) {
			return syscall.ENOSPC
		}
		return fsw.Add(path)
	}
}

// logBuffer collects log output from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) lines(level string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, line := range strings.Split(b.buf.String(), "\n") {
		if strings.Contains(line, "["+level+"]") {
			out = append(out, line)
		}
	}
	return out
}

func newTestLogger(b *logBuffer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Output: b, Level: hclog.Trace})
}

// makeTree creates root/dNN/sub/f for n folders dNN and returns the files.
func makeTree(t *testing.T, root string, n int) []string {
	t.Helper()
	var files []string
	for i := range n {
		f := filepath.Join(root, fmt.Sprintf("d%02d", i), "sub", "f")
		writeTestFile(t, f, "x")
		files = append(files, f)
	}
	return files
}

// symlinkFreeTempDir returns a temporary folder without symbolic links in
// its path, because reported paths are compared with it.
func symlinkFreeTempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// assertLimitWarning checks that exactly one warning was logged and that it
// names the sysctl, its value and the command that raises it.
func assertLimitWarning(t *testing.T, logs *logBuffer, sysctl string, suggested int) {
	t.Helper()
	warnings := logs.lines("WARN")
	if len(warnings) != 1 {
		t.Fatalf("%d warnings logged, want 1:\n%s", len(warnings), strings.Join(warnings, "\n"))
	}
	for _, want := range []string{
		sysctl + " is " + readSysctl(sysctl),
		fmt.Sprintf(`sudo sysctl %s=%d`, sysctl, suggested),
		"polling",
	} {
		if !strings.Contains(warnings[0], want) {
			t.Errorf("warning %q does not contain %q", warnings[0], want)
		}
	}
}

// waitEvent waits until fsnotify delivered an event for path to the inbox
// and handles every event delivered until then.
func waitEvent(t *testing.T, w *Watcher, path string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case <-w.inbox.ready:
		case <-deadline:
			t.Fatalf("no inotify event for %s", path)
		}
		events, _, _ := w.inbox.take()
		for _, ev := range events {
			w.handleEvent(ev)
		}
		if slices.ContainsFunc(events, func(ev fsnotify.Event) bool { return filepath.Clean(ev.Name) == path }) {
			return
		}
	}
}

// These tests call the loop's handlers directly, without Run, so that the
// test goroutine owns the Watcher's state.

func TestWatchLimitPollsUnwatchedFolders(t *testing.T) {
	root := symlinkFreeTempDir(t)
	files := makeTree(t, root, 4) // 9 folders
	var logs logBuffer
	w, err := newWatcher(Config{Roots: []string{root}, Logger: newTestLogger(&logs)},
		hooks{addWatch: limitedAdd(3)})
	if err != nil {
		t.Fatalf("New at the watch limit: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })

	assertLimitWarning(t, &logs, watchesSysctl, suggestedMaxWatches)
	if got := w.WatchCount(); got != 3 {
		t.Errorf("WatchCount = %d, want the limit, 3", got)
	}
	polling := w.Polling()
	if len(polling) == 0 {
		t.Fatal("Polling is empty at the watch limit")
	}
	for _, f := range files {
		dir := filepath.Dir(f)
		if _, watched := w.dirs[dir]; !watched && !w.polled(dir) {
			t.Errorf("%s is neither watched nor polled", dir)
		}
	}
	if got := w.queued(); len(got) != 0 {
		t.Errorf("New queued %q, want nothing", got)
	}

	// Every file changes; the scan finds those in polled folders.
	var polledFiles []string
	for _, f := range files {
		writeTestFile(t, f, "changed")
		if w.polled(f) {
			polledFiles = append(polledFiles, f)
		}
	}
	if len(polledFiles) == 0 {
		t.Fatal("no file lies in a polled folder")
	}
	w.pollScan()
	got := w.queued()
	for _, f := range polledFiles {
		if !slices.Contains(got, f) {
			t.Errorf("%s in a polled folder was not reported; reported: %q", f, got)
		}
	}

	// A folder created in a watched folder cannot be watched either: it is
	// polled and reported with its content.
	created := filepath.Join(root, "new", "inner", "f")
	writeTestFile(t, created, "x")
	waitEvent(t, w, filepath.Join(root, "new"))
	got = w.queued()
	for _, p := range []string{filepath.Join(root, "new"), filepath.Dir(created), created} {
		if !slices.Contains(got, p) {
			t.Errorf("%s was not reported; reported: %q", p, got)
		}
	}
	if !slices.Contains(w.Polling(), filepath.Join(root, "new")) {
		t.Errorf("Polling = %q, want it to hold the new folder", w.Polling())
	}
	writeTestFile(t, created, "changed")
	w.pollScan()
	if got := w.queued(); !slices.Contains(got, created) {
		t.Errorf("%s was not reported after a change; reported: %q", created, got)
	}
	if warnings := logs.lines("WARN"); len(warnings) != 1 {
		t.Errorf("%d warnings logged, want the first one only", len(warnings))
	}
}

func TestWatchLimitPolledFolderRemoved(t *testing.T) {
	root := symlinkFreeTempDir(t)
	makeTree(t, root, 2) // root, d00, d00/sub, d01, d01/sub
	w, err := newWatcher(Config{Roots: []string{root}}, hooks{addWatch: limitedAdd(3)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	polled := filepath.Join(root, "d01")
	if !slices.Equal(w.Polling(), []string{polled}) {
		t.Fatalf("Polling = %q, want %q", w.Polling(), []string{polled})
	}

	// The removal arrives through the watch of the root, and the polled
	// folder is forgotten after its content was reported.
	if err := os.RemoveAll(polled); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, w, polled)
	got := w.queued()
	for _, p := range []string{polled, filepath.Join(polled, "sub"), filepath.Join(polled, "sub", "f")} {
		if !slices.Contains(got, p) {
			t.Errorf("%s was not reported; reported: %q", p, got)
		}
	}
	if got := w.Polling(); len(got) != 0 {
		t.Errorf("Polling = %q after the polled folder was removed, want nothing", got)
	}
}

func TestWatchLimitFileRoot(t *testing.T) {
	dir := symlinkFreeTempDir(t)
	file := filepath.Join(dir, "compose.yaml")
	writeTestFile(t, file, "a")
	var logs logBuffer
	w, err := newWatcher(Config{Roots: []string{file}, Logger: newTestLogger(&logs)},
		hooks{addWatch: limitedAdd(0)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	assertLimitWarning(t, &logs, watchesSysctl, suggestedMaxWatches)
	if !slices.Equal(w.Polling(), []string{file}) {
		t.Errorf("Polling = %q, want %q", w.Polling(), []string{file})
	}
	writeTestFile(t, file, "b")
	w.pollScan()
	if got := w.queued(); !slices.Equal(got, []string{file}) {
		t.Errorf("queued %q, want %s", got, file)
	}
}

func TestInstanceLimitPollsEveryRoot(t *testing.T) {
	root := symlinkFreeTempDir(t)
	file := filepath.Join(symlinkFreeTempDir(t), "compose.yaml")
	writeTestFile(t, file, "a")
	var logs logBuffer
	tooMany := func() (*fsnotify.Watcher, error) {
		// fsnotify wraps the error of inotify_init1 this way.
		return nil, fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE)
	}
	w, err := newWatcher(Config{Roots: []string{root, file}, Logger: newTestLogger(&logs)},
		hooks{newInotify: tooMany})
	if err != nil {
		t.Fatalf("New at the instance limit: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })

	assertLimitWarning(t, &logs, instancesSysctl, suggestedMaxInstances)
	want := []string{root, file}
	slices.Sort(want)
	if got := w.Polling(); !slices.Equal(got, want) {
		t.Errorf("Polling = %q, want every root %q", got, want)
	}
	if got := w.WatchCount(); got != 0 {
		t.Errorf("WatchCount = %d without an inotify instance, want 0", got)
	}

	added := filepath.Join(root, "a.js")
	writeTestFile(t, added, "x")
	writeTestFile(t, file, "b")
	w.pollScan()
	if got := w.queued(); !slices.Equal(got, []string{added, file}) {
		t.Errorf("queued %q, want %q", got, []string{added, file})
	}
}

func TestNewWatcherOtherErrorFails(t *testing.T) {
	failing := func() (*fsnotify.Watcher, error) { return nil, syscall.ENOMEM }
	_, err := newWatcher(Config{Roots: []string{t.TempDir()}}, hooks{newInotify: failing})
	if err == nil {
		t.Fatal("New returned no error when inotify could not be created")
	}
	if !strings.Contains(err.Error(), "creating inotify instance") {
		t.Errorf("error %q does not name the operation", err)
	}
}

// TestWatchLimitRun runs a Watcher at the watch limit and receives changes
// in polled folders from Events, polled with the real clock.
func TestWatchLimitRun(t *testing.T) {
	root := symlinkFreeTempDir(t)
	files := makeTree(t, root, 4)
	w, err := newWatcher(Config{Roots: []string{root}},
		hooks{addWatch: limitedAdd(3), pollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	last := files[len(files)-1]
	if !slices.ContainsFunc(w.Polling(), func(p string) bool { return isWithin(last, p) }) {
		t.Fatalf("%s is not polled; Polling = %q", last, w.Polling())
	}
	writeTestFile(t, last, "changed")
	deadline := time.After(waitLimit)
	for {
		select {
		case p := <-w.Events():
			if p == last {
				return
			}
		case <-deadline:
			t.Fatalf("%s in a polled folder was not reported", last)
		}
	}
}
