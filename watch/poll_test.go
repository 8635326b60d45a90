package watch_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/watch"
	"github.com/devdtool/devd/watch/watchtest"
)

// testPollInterval is the polling interval of these tests. Their clock moves
// only when a test makes the Watcher scan.
const testPollInterval = time.Second

// pollRun is a polling Watcher running for one test, whose scans the test
// triggers by moving the clock.
type pollRun struct {
	t     *testing.T
	w     *watch.Watcher
	clock *watchtest.Clock
	// barrier is the last root. The Watcher scans roots in order, so a file
	// written there is reported after the changes in the other roots.
	barrier string
	seq     int
}

// startPolling creates a Watcher that polls cfg.Roots and a barrier root, and
// runs it until the test ends.
func startPolling(t *testing.T, cfg watch.Config) *pollRun {
	t.Helper()
	barrier := tempDir(t)
	clock := watchtest.NewClock(time.Unix(0, 0))
	cfg.Roots = append(slices.Clone(cfg.Roots), barrier)
	cfg.Poll = testPollInterval
	cfg.Clock = clock

	run := startWatcher(t, cfg, barrier)
	return &pollRun{t: t, w: run.w, clock: clock, barrier: barrier}
}

// scan writes a barrier file, makes the Watcher scan once and returns the
// paths reported before the barrier file: every change since the previous
// scan.
func (r *pollRun) scan() []string {
	r.t.Helper()
	r.seq++
	barrier := filepath.Join(r.barrier, "barrier-"+strconv.Itoa(r.seq))
	writeFile(r.t, barrier, "")

	// Run arms the timer when it starts and again after each scan.
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := r.clock.WaitArms(ctx, r.seq); err != nil {
		r.t.Fatal(err)
	}
	r.clock.Advance(testPollInterval)

	var seen []string
	for {
		select {
		case p, ok := <-r.w.Events():
			if !ok {
				r.t.Fatal("Events closed while waiting for a scan")
			}
			if p == barrier {
				return seen
			}
			seen = append(seen, p)
		case <-time.After(testWait):
			r.t.Fatalf("timed out waiting for barrier file %s; seen %q", barrier, seen)
		}
	}
}

// assertSeen checks that every path in want was reported.
func assertSeen(t *testing.T, seen []string, want ...string) {
	t.Helper()
	for _, p := range want {
		if !slices.Contains(seen, p) {
			t.Errorf("%s was not reported; reported: %q", p, seen)
		}
	}
}

func TestPollWrite(t *testing.T) {
	root := tempDir(t)
	file := filepath.Join(root, "a.js")
	other := filepath.Join(root, "b.js")
	writeFile(t, file, "old")
	writeFile(t, other, "old")
	r := startPolling(t, watch.Config{Roots: []string{root}, Skip: skipTestIgnores})

	// Same size: only the modification time differs.
	writeFile(t, file, "new")
	seen := r.scan()
	assertSeen(t, seen, file)
	assertNotSeen(t, seen, other)

	if seen := r.scan(); len(seen) != 0 {
		t.Errorf("a scan without changes reported %q", seen)
	}
}

func TestPollAtomicSave(t *testing.T) {
	root := tempDir(t)
	file := filepath.Join(root, "a.js")
	writeFile(t, file, "old")
	r := startPolling(t, watch.Config{Roots: []string{root}, Skip: skipTestIgnores})

	tmp := file + "___jb_tmp___"
	writeFile(t, tmp, "new")
	must(t, os.Rename(tmp, file))
	seen := r.scan()
	assertSeen(t, seen, file)
	assertNotSeen(t, seen, tmp)

	// The steps of vim's save, with the backup left until the scan, which
	// Skip leaves out.
	backup := file + "~"
	must(t, os.Rename(file, backup))
	writeFile(t, file, "vim")
	seen = r.scan()
	assertSeen(t, seen, file)
	assertNotSeen(t, seen, backup)
}

func TestPollNewNestedFolder(t *testing.T) {
	root := tempDir(t)
	r := startPolling(t, watch.Config{Roots: []string{root}})

	a := filepath.Join(root, "a")
	c := filepath.Join(a, "b", "c")
	f := filepath.Join(c, "f")
	mkdirAll(t, c)
	writeFile(t, f, "x")
	assertSeen(t, r.scan(), a, filepath.Join(a, "b"), c, f)

	writeFile(t, f, "y")
	seen := r.scan()
	assertSeen(t, seen, f)
	assertNotSeen(t, seen, a, c)
}

func TestPollRenameFolder(t *testing.T) {
	root := tempDir(t)
	old := filepath.Join(root, "old")
	mkdirAll(t, filepath.Join(old, "sub"))
	writeFile(t, filepath.Join(old, "f"), "f")
	writeFile(t, filepath.Join(old, "sub", "g"), "g")
	r := startPolling(t, watch.Config{Roots: []string{root}})

	renamed := filepath.Join(root, "new")
	must(t, os.Rename(old, renamed))
	assertSeen(t, r.scan(), old, renamed, filepath.Join(renamed, "f"),
		filepath.Join(renamed, "sub"), filepath.Join(renamed, "sub", "g"))

	g := filepath.Join(renamed, "sub", "g")
	writeFile(t, g, "changed")
	seen := r.scan()
	assertSeen(t, seen, g)
	for _, p := range seen {
		if isWithin(p, old) {
			t.Errorf("a path under the old folder name was reported after the rename: %s", p)
		}
	}
}

func TestPollRemove(t *testing.T) {
	root := tempDir(t)
	dir := filepath.Join(root, "gone")
	inner := filepath.Join(dir, "sub", "f")
	file := filepath.Join(root, "file")
	mkdirAll(t, filepath.Dir(inner))
	writeFile(t, inner, "f")
	writeFile(t, file, "f")
	r := startPolling(t, watch.Config{Roots: []string{root}})

	must(t, os.RemoveAll(dir))
	must(t, os.Remove(file))
	assertSeen(t, r.scan(), dir, filepath.Join(dir, "sub"), inner, file)

	// A folder created again under the same name is a new folder.
	mkdirAll(t, dir)
	writeFile(t, filepath.Join(dir, "again"), "x")
	assertSeen(t, r.scan(), dir, filepath.Join(dir, "again"))
}

func TestPollChmod(t *testing.T) {
	root := tempDir(t)
	script := filepath.Join(root, "run.sh")
	dir := filepath.Join(root, "bin")
	writeFile(t, script, "echo")
	mkdirAll(t, dir)
	r := startPolling(t, watch.Config{Roots: []string{root}})

	must(t, os.Chmod(script, 0o755))
	seen := r.scan()
	assertSeen(t, seen, script)
	assertNotSeen(t, seen, dir)

	must(t, os.Chmod(dir, 0o700))
	assertSeen(t, r.scan(), dir)
}

func TestPollSymlinkRetarget(t *testing.T) {
	root := tempDir(t)
	link := filepath.Join(root, "current")
	must(t, os.Symlink("v1", link))
	r := startPolling(t, watch.Config{Roots: []string{root}})

	// As "ln -sfn v2 current" does: a new link renamed over the old one.
	tmp := link + ".tmp"
	must(t, os.Symlink("v2", tmp))
	must(t, os.Rename(tmp, link))
	assertSeen(t, r.scan(), link)

	// Removed and created at once, with a target of the same length: the
	// inode number may be reused, but the target differs.
	must(t, os.Remove(link))
	must(t, os.Symlink("v3", link))
	assertSeen(t, r.scan(), link)

	if seen := r.scan(); len(seen) != 0 {
		t.Errorf("a scan without changes reported %q", seen)
	}
}

func TestPollSkipsFolders(t *testing.T) {
	root := tempDir(t)
	modules := filepath.Join(root, "node_modules")
	mkdirAll(t, filepath.Join(modules, "lodash"))
	mkdirAll(t, filepath.Join(root, ".git", "objects"))

	// Skip is called from the Watcher's goroutines only, but read here.
	var mu sync.Mutex
	var skipCalls []string
	skip := func(path string, isDir bool) bool {
		mu.Lock()
		skipCalls = append(skipCalls, path)
		mu.Unlock()
		return skipTestIgnores(path, isDir)
	}
	r := startPolling(t, watch.Config{Roots: []string{root}, Skip: skip})

	writeFile(t, filepath.Join(modules, "lodash", "index.js"), "x")
	mkdirAll(t, filepath.Join(modules, "react"))
	writeFile(t, filepath.Join(root, ".git", "index"), "x")
	file := filepath.Join(root, "app.js")
	writeFile(t, file, "x")
	seen := r.scan()

	assertSeen(t, seen, file)
	for _, p := range seen {
		if strings.Contains(p, "node_modules") || watch.InGitDir(p) {
			t.Errorf("a path in a skipped folder was reported: %s", p)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	git := filepath.Join(root, ".git")
	for _, p := range skipCalls {
		inside := (isWithin(p, modules) && p != modules) || (isWithin(p, git) && p != git)
		if inside {
			t.Errorf("Skip was called for %s, inside a skipped folder, which must never be walked", p)
		}
	}
	if got := r.w.WatchCount(); got != 0 {
		t.Errorf("WatchCount = %d while polling, want 0", got)
	}
}

func TestPollMissingRoot(t *testing.T) {
	parent := tempDir(t)
	root := filepath.Join(parent, "later", "src")
	r := startPolling(t, watch.Config{Roots: []string{root}})

	f := filepath.Join(root, "f")
	mkdirAll(t, root)
	writeFile(t, f, "x")
	assertSeen(t, r.scan(), root, f)

	must(t, os.RemoveAll(filepath.Join(parent, "later")))
	seen := r.scan()
	assertSeen(t, seen, root, f)
	assertNotSeen(t, seen, filepath.Join(parent, "later"))
}

func TestPollFileRoot(t *testing.T) {
	dir := tempDir(t)
	file := filepath.Join(dir, "compose.yaml")
	other := filepath.Join(dir, "other.txt")
	writeFile(t, file, "a")
	r := startPolling(t, watch.Config{Roots: []string{file}})

	writeFile(t, other, "x")
	writeFile(t, file, "b")
	seen := r.scan()
	assertSeen(t, seen, file)
	assertNotSeen(t, seen, other)

	must(t, os.Remove(file))
	assertSeen(t, r.scan(), file)
	writeFile(t, file, "c")
	assertSeen(t, r.scan(), file)
}

func TestPollUsesNoInotify(t *testing.T) {
	root := tempDir(t)
	mkdirAll(t, filepath.Join(root, "a", "b"))
	nested := filepath.Join(root, "a")
	instancesBefore, watchesBefore := inotifyUsage(t)

	w, err := watch.New(watch.Config{Roots: []string{root, nested}, Poll: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { must(t, w.Close()) }()

	instances, watches := inotifyUsage(t)
	if instances != instancesBefore || watches != watchesBefore {
		t.Errorf("a polling Watcher holds %d inotify instances and %d watches more, want none",
			instances-instancesBefore, watches-watchesBefore)
	}
	// The nested root is scanned as part of the other.
	if got := w.Polling(); !slices.Equal(got, []string{root}) {
		t.Errorf("Polling = %q, want %q", got, []string{root})
	}
}

// isWithin reports whether path is dir or lies inside it.
func isWithin(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, dir+string(filepath.Separator))
}
