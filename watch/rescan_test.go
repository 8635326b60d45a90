package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// queued empties the Watcher's queue and returns its paths.
func (w *Watcher) queued() []string {
	var out []string
	for {
		p, ok := w.queue.peek()
		if !ok {
			return out
		}
		out = append(out, p)
		w.queue.pop()
	}
}

// These tests call the loop's handlers directly, without Run, so that the
// test goroutine owns the Watcher's state.

func TestOverflowRescansRoots(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "compose.yaml")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Roots: []string{root, file}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	// Lose events: the root's watch goes away, so the kernel reports nothing
	// of what follows, and a recorded folder vanishes.
	if err := w.fsw.Remove(root); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(root, "gone")
	w.recordDir(gone, 0)
	added := filepath.Join(root, "added", "sub")
	if err := os.MkdirAll(added, 0o755); err != nil {
		t.Fatal(err)
	}
	w.queued()

	w.inbox.mu.Lock()
	w.inbox.errs = append(w.inbox.errs, fsnotify.ErrEventOverflow)
	w.inbox.mu.Unlock()
	w.handleInbox()

	// Every root, and the folders created while events were lost.
	got := w.queued()
	slices.Sort(got)
	want := []string{root, file, filepath.Dir(added), added}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("queued after overflow = %q, want %q", got, want)
	}
	if _, ok := w.dirs[added]; !ok {
		t.Errorf("folder %s created while events were lost is not watched", added)
	}
	if _, ok := w.dirs[gone]; ok {
		t.Errorf("folder %s removed while events were lost is still recorded", gone)
	}
	// The root again, added, added/sub and the parent of the file root.
	if got := w.WatchCount(); got != 4 {
		t.Errorf("WatchCount = %d after rescan, want 4", got)
	}
}

func TestInboxOverflowRescans(t *testing.T) {
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w, err := New(Config{Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	w.inbox.mu.Lock()
	w.inbox.overflow = true
	w.inbox.mu.Unlock()
	w.handleInbox()

	if got := w.queued(); !slices.Equal(got, []string{root}) {
		t.Errorf("queued after dropped events = %q, want the root", got)
	}
}

// loseEvents waits until fsnotify delivered an event for path, then drops
// every event delivered so far, as a queue overflow does.
func loseEvents(t *testing.T, w *Watcher, path string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		select {
		case <-w.inbox.ready:
		case <-deadline:
			t.Fatalf("no inotify event for %s", path)
		}
		events, _, _ := w.inbox.take()
		if slices.ContainsFunc(events, func(ev fsnotify.Event) bool { return filepath.Clean(ev.Name) == path }) {
			return
		}
	}
}

func overflow(w *Watcher) {
	w.inbox.mu.Lock()
	w.inbox.errs = append(w.inbox.errs, fsnotify.ErrEventOverflow)
	w.inbox.mu.Unlock()
	w.handleInbox()
}

func TestOverflowRescanRecreatedFolder(t *testing.T) {
	root := symlinkFreeTempDir(t)
	dir := filepath.Join(root, "d")
	writeTestFile(t, filepath.Join(dir, "sub", "f"), "x")
	w, err := New(Config{Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	// The folder is removed and created again while its events are lost.
	// Its watch went with the old folder, and the inode number may be the
	// same or not.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	g := filepath.Join(dir, "sub", "g")
	writeTestFile(t, g, "y")
	loseEvents(t, w, dir)
	overflow(w)

	got := w.queued()
	for _, p := range []string{root, dir, filepath.Join(dir, "sub"), g} {
		if !slices.Contains(got, p) {
			t.Errorf("%s was not reported after the rescan; reported: %q", p, got)
		}
	}
	if got := w.WatchCount(); got != 3 {
		t.Errorf("WatchCount = %d after rescan, want 3", got)
	}
	if d := w.dirs[dir]; d == nil || d.ino != dirID(dir) {
		t.Errorf("record of %s = %+v, want the inode number of the new folder %d", dir, d, dirID(dir))
	}

	// The new watches report changes inside the new folders.
	h := filepath.Join(dir, "sub", "h")
	writeTestFile(t, h, "z")
	waitEvent(t, w, h)
}

func TestOverflowRescanInodeChanged(t *testing.T) {
	root := symlinkFreeTempDir(t)
	dir := filepath.Join(root, "d")
	f := filepath.Join(dir, "f")
	writeTestFile(t, f, "x")
	w, err := New(Config{Roots: []string{root}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })

	// fsnotify still lists the watch, as when the kernel's report that it
	// is gone was lost too, but the folder is not the one watched.
	w.dirs[dir].ino++
	overflow(w)

	got := w.queued()
	for _, p := range []string{root, dir, f} {
		if !slices.Contains(got, p) {
			t.Errorf("%s was not reported after the rescan; reported: %q", p, got)
		}
	}
	if got := w.WatchCount(); got != 2 {
		t.Errorf("WatchCount = %d after rescan, want 2", got)
	}
}
