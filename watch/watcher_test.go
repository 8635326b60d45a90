package watch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/watch"
)

// watchRun is a Watcher running for one test.
type watchRun struct {
	t       *testing.T
	w       *watch.Watcher
	barrier string // a watched folder for barrier files
	seq     int
}

// startWatcher creates a Watcher and runs it until the test ends. Barrier
// files are written into barrierDir, which must be watched.
func startWatcher(t *testing.T, cfg watch.Config, barrierDir string) *watchRun {
	t.Helper()
	w, err := watch.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
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
	return &watchRun{t: t, w: w, barrier: barrierDir}
}

// skipTestIgnores leaves out what devd always ignores and node_modules.
func skipTestIgnores(path string, isDir bool) bool {
	return watch.IsDefaultIgnored(path) || filepath.Base(path) == "node_modules"
}

// next returns the next reported path.
func (r *watchRun) next(waitingFor string) string {
	r.t.Helper()
	select {
	case p, ok := <-r.w.Events():
		if !ok {
			r.t.Fatalf("Events closed while waiting for %s", waitingFor)
		}
		return p
	case <-time.After(testWait):
		r.t.Fatalf("timed out waiting for %s", waitingFor)
	}
	return ""
}

// expect reads reported paths until every path in want was seen, and returns
// every path seen, in order.
func (r *watchRun) expect(want ...string) []string {
	r.t.Helper()
	missing := make(map[string]bool, len(want))
	for _, p := range want {
		missing[p] = true
	}

	var seen []string
	for len(missing) > 0 {
		p := r.next(fmt.Sprintf("%d paths, of which %q; seen %q", len(want), keys(missing), seen))
		seen = append(seen, p)
		delete(missing, p)
	}
	return seen
}

// sync writes a new file into the barrier folder and returns every path
// reported before it. The Watcher reports paths in the order of their first
// pending event, so a path not returned was not reported for the changes made
// before sync.
func (r *watchRun) sync() []string {
	r.t.Helper()
	r.seq++
	barrier := filepath.Join(r.barrier, "barrier-"+strconv.Itoa(r.seq))
	writeFile(r.t, barrier, "")

	var seen []string
	for {
		p := r.next("barrier file " + barrier)
		if p == barrier {
			return seen
		}
		seen = append(seen, p)
	}
}

// waitWatchCount waits until the Watcher holds want watches.
func (r *watchRun) waitWatchCount(want int) {
	r.t.Helper()
	deadline := time.Now().Add(testWait)
	for r.w.WatchCount() != want {
		if time.Now().After(deadline) {
			r.t.Fatalf("WatchCount = %d, want %d", r.w.WatchCount(), want)
		}
		time.Sleep(5 * time.Millisecond) // polling interval for the condition
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkdirAll(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(path, 0o755); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func assertNotSeen(t *testing.T, seen []string, unwanted ...string) {
	t.Helper()
	for _, p := range unwanted {
		if slices.Contains(seen, p) {
			t.Errorf("%s was reported, want it left out; reported: %q", p, seen)
		}
	}
}

// tempDir returns a symlink-free temporary folder, because roots are used as
// given and reported paths are compared with it.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestWatcherVimSave(t *testing.T) {
	root := tempDir(t)
	file := filepath.Join(root, "a.js")
	writeFile(t, file, "old")
	r := startWatcher(t, watch.Config{Roots: []string{root}, Skip: skipTestIgnores}, root)

	// The steps of vim's default save (backupcopy=auto on Linux).
	probe := filepath.Join(root, "4913")
	writeFile(t, probe, "")
	must(t, os.Remove(probe))
	backup := file + "~"
	must(t, os.Rename(file, backup))
	writeFile(t, file, "new")
	must(t, os.Remove(backup))

	seen := r.sync()
	if !slices.Contains(seen, file) {
		t.Errorf("%s was not reported; reported: %q", file, seen)
	}
	assertNotSeen(t, seen, backup, probe)
}

func TestWatcherAtomicSave(t *testing.T) {
	root := tempDir(t)
	file := filepath.Join(root, "a.js")
	writeFile(t, file, "old")
	r := startWatcher(t, watch.Config{Roots: []string{root}, Skip: skipTestIgnores}, root)

	tmp := file + "___jb_tmp___"
	writeFile(t, tmp, "new")
	must(t, os.Rename(tmp, file))

	seen := r.sync()
	if !slices.Contains(seen, file) {
		t.Errorf("%s was not reported after a rename over it; reported: %q", file, seen)
	}
	assertNotSeen(t, seen, tmp)
}

func TestWatcherNewNestedFolder(t *testing.T) {
	root := tempDir(t)
	r := startWatcher(t, watch.Config{Roots: []string{root}}, root)
	r.waitWatchCount(1)

	// Like "mkdir -p a/b/c && echo x > a/b/c/f": the kernel reports only a.
	a := filepath.Join(root, "a")
	c := filepath.Join(a, "b", "c")
	f := filepath.Join(c, "f")
	mkdirAll(t, c)
	writeFile(t, f, "x")
	r.expect(a, filepath.Join(a, "b"), c, f)
	r.waitWatchCount(4)
	r.sync()

	// An edit in the new folder arrives through the new watch.
	writeFile(t, f, "y")
	r.expect(f)
}

func TestWatcherCopyTree(t *testing.T) {
	src := tempDir(t)
	var files []string
	for _, rel := range []string{"top.txt", "l1/one.txt", "l1/l2/two.txt", "l1/l2/l3/three.txt", "l1/l2/l3/more.txt", "l1/side/s.txt"} {
		files = append(files, rel)
		mkdirAll(t, filepath.Join(src, filepath.Dir(rel)))
		writeFile(t, filepath.Join(src, rel), rel)
	}

	root := tempDir(t)
	r := startWatcher(t, watch.Config{Roots: []string{root}}, root)

	// Copies folder by folder, as "cp -r" does.
	dst := filepath.Join(root, "copy")
	must(t, os.CopyFS(dst, os.DirFS(src)))

	want := []string{dst, filepath.Join(dst, "l1"), filepath.Join(dst, "l1/l2"),
		filepath.Join(dst, "l1/l2/l3"), filepath.Join(dst, "l1/side")}
	for _, rel := range files {
		want = append(want, filepath.Join(dst, rel))
	}
	r.expect(want...)
	r.waitWatchCount(6)
}

func TestWatcherRenameFolder(t *testing.T) {
	root := tempDir(t)
	old := filepath.Join(root, "old")
	mkdirAll(t, filepath.Join(old, "sub"))
	writeFile(t, filepath.Join(old, "f"), "f")
	writeFile(t, filepath.Join(old, "sub", "g"), "g")
	r := startWatcher(t, watch.Config{Roots: []string{root}}, root)
	r.waitWatchCount(3)

	renamed := filepath.Join(root, "new")
	must(t, os.Rename(old, renamed))
	r.expect(old, renamed, filepath.Join(renamed, "f"), filepath.Join(renamed, "sub"), filepath.Join(renamed, "sub", "g"))
	r.waitWatchCount(3)
	r.sync()

	// The watch of the moved subfolder must report the new name.
	g := filepath.Join(renamed, "sub", "g")
	writeFile(t, g, "changed")
	seen := r.expect(g)
	for _, p := range seen {
		if strings.HasPrefix(p, old+string(filepath.Separator)) {
			t.Errorf("a path under the old folder name was reported after the rename: %s", p)
		}
	}
}

func TestWatcherRemoveFolder(t *testing.T) {
	root := tempDir(t)
	dir := filepath.Join(root, "gone")
	mkdirAll(t, filepath.Join(dir, "sub"))
	writeFile(t, filepath.Join(dir, "sub", "f"), "f")
	r := startWatcher(t, watch.Config{Roots: []string{root}}, root)
	r.waitWatchCount(3)

	must(t, os.RemoveAll(dir))
	r.expect(dir)
	r.waitWatchCount(1)
}

func TestWatcherSkipsFolders(t *testing.T) {
	root := tempDir(t)
	src := filepath.Join(root, "src")
	modules := filepath.Join(root, "node_modules")
	mkdirAll(t, src)
	mkdirAll(t, filepath.Join(modules, "lodash", "lib"))
	mkdirAll(t, filepath.Join(root, ".git", "objects"))
	r := startWatcher(t, watch.Config{Roots: []string{root}, Skip: skipTestIgnores}, root)

	if got := r.w.WatchCount(); got != 2 {
		t.Fatalf("WatchCount = %d, want 2 (the root and src)", got)
	}

	// Changes in skipped folders are not reported, and their new folders are
	// not watched.
	newModule := filepath.Join(modules, "react")
	mkdirAll(t, newModule)
	writeFile(t, filepath.Join(newModule, "index.js"), "x")
	writeFile(t, filepath.Join(root, ".git", "index"), "x")
	mkdirAll(t, filepath.Join(root, ".git", "refs"))
	file := filepath.Join(src, "app.js")
	writeFile(t, file, "x")

	seen := r.sync()
	if !slices.Contains(seen, file) {
		t.Errorf("%s was not reported; reported: %q", file, seen)
	}
	for _, p := range seen {
		if strings.Contains(p, "node_modules") || watch.InGitDir(p) {
			t.Errorf("a path in a skipped folder was reported: %s", p)
		}
	}
	if got := r.w.WatchCount(); got != 2 {
		t.Errorf("WatchCount = %d after changes in skipped folders, want 2", got)
	}

	// A new folder that is not skipped is watched.
	mkdirAll(t, filepath.Join(root, "lib"))
	r.waitWatchCount(3)
}

func TestWatcherMissingRoot(t *testing.T) {
	parent := tempDir(t)
	root := filepath.Join(parent, "later", "src")
	r := startWatcher(t, watch.Config{Roots: []string{root}}, root)
	if got := r.w.WatchCount(); got != 1 {
		t.Fatalf("WatchCount = %d, want 1 (the nearest existing parent)", got)
	}

	f := filepath.Join(root, "f")
	mkdirAll(t, root)
	writeFile(t, f, "x")
	r.expect(root, f)
	r.waitWatchCount(1) // the root replaced its parent's watch
	r.sync()

	writeFile(t, f, "y")
	r.expect(f)

	// The root is removed and created again.
	must(t, os.RemoveAll(filepath.Join(parent, "later")))
	r.expect(root)
	mkdirAll(t, root)
	writeFile(t, f, "z")
	r.expect(root, f)
}

func TestWatcherFileRoot(t *testing.T) {
	dir := tempDir(t)
	file := filepath.Join(dir, "compose.yaml")
	other := filepath.Join(dir, "other.txt")
	writeFile(t, file, "a")
	barrierDir := tempDir(t)
	r := startWatcher(t, watch.Config{Roots: []string{file, barrierDir}}, barrierDir)
	if got := r.w.WatchCount(); got != 2 {
		t.Errorf("WatchCount = %d, want 2 (the file's folder and the barrier folder)", got)
	}

	writeFile(t, other, "x")
	writeFile(t, file, "b")
	seen := r.sync()
	if !slices.Contains(seen, file) {
		t.Errorf("%s was not reported; reported: %q", file, seen)
	}
	assertNotSeen(t, seen, other)

	// Removed and written again, as some editors save.
	must(t, os.Remove(file))
	r.expect(file)
	writeFile(t, file, "c")
	r.expect(file)
}

func TestWatcherSlowConsumer(t *testing.T) {
	root := tempDir(t)
	r := startWatcher(t, watch.Config{Roots: []string{root}}, root)

	// Nothing is received while the files are created.
	var want []string
	for i := range 20 {
		dir := filepath.Join(root, fmt.Sprintf("d%02d", i), "inner")
		mkdirAll(t, dir)
		want = append(want, filepath.Dir(dir), dir)
		for j := range 20 {
			f := filepath.Join(dir, fmt.Sprintf("f%02d", j))
			writeFile(t, f, "x")
			want = append(want, f)
		}
	}
	r.waitWatchCount(41)

	r.expect(want...)
}

func TestWatcherRunClosesEvents(t *testing.T) {
	root := tempDir(t)
	w, err := watch.New(watch.Config{Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancellation", err)
		}
	case <-time.After(testWait):
		t.Fatal("Run did not return after cancellation")
	}
	if _, ok := <-w.Events(); ok {
		t.Error("Events is still open after Run returned")
	}
	if got := w.WatchCount(); got != 0 {
		t.Errorf("WatchCount = %d after Run returned, want 0", got)
	}
	if err := w.Run(context.Background()); err == nil {
		t.Error("a second Run returned no error")
	}
}

func TestWatcherCloseStopsRun(t *testing.T) {
	w, err := watch.New(watch.Config{Roots: []string{tempDir(t)}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()

	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	select {
	case <-done:
	case <-time.After(testWait):
		t.Fatal("Run did not return after Close")
	}
}

func TestNewWithoutRoots(t *testing.T) {
	if _, err := watch.New(watch.Config{}); err == nil {
		t.Error("New without roots returned no error")
	}
}

// inotifyUsage returns the number of inotify instances and watches this
// process holds, from /proc/self/fdinfo.
func inotifyUsage(t *testing.T) (instances, watches int) {
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
		for _, line := range strings.Split(string(info), "\n") {
			if strings.HasPrefix(line, "inotify wd:") {
				watches++
			}
		}
	}
	return instances, watches
}

func TestWatcherReleasesInotify(t *testing.T) {
	root := tempDir(t)
	mkdirAll(t, filepath.Join(root, "a", "b"))
	mkdirAll(t, filepath.Join(root, "c"))
	instancesBefore, watchesBefore := inotifyUsage(t)

	for i := range 10 {
		w, err := watch.New(watch.Config{Roots: []string{root}})
		if err != nil {
			t.Fatalf("New in cycle %d: %v", i, err)
		}
		if i == 0 {
			instances, watches := inotifyUsage(t)
			if instances != instancesBefore+1 || watches != watchesBefore+4 {
				t.Fatalf("a running Watcher holds %d instances and %d watches more, want 1 and 4",
					instances-instancesBefore, watches-watchesBefore)
			}
		}
		if i%2 == 0 {
			// Closed without running.
			must(t, w.Close())
			continue
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run in cycle %d: %v", i, err)
		}
	}

	instances, watches := inotifyUsage(t)
	if instances != instancesBefore {
		t.Errorf("inotify instances: %d after 10 watchers were closed, want %d", instances, instancesBefore)
	}
	if watches != watchesBefore {
		t.Errorf("inotify watches: %d after 10 watchers were closed, want %d", watches, watchesBefore)
	}
}
