package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

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
	w.recordDir(gone)
	added := filepath.Join(root, "added", "sub")
	if err := os.MkdirAll(added, 0o755); err != nil {
		t.Fatal(err)
	}
	w.queued()

	w.inbox.mu.Lock()
	w.inbox.errs = append(w.inbox.errs, fsnotify.ErrEventOverflow)
	w.inbox.mu.Unlock()
	w.handleInbox()

	got := w.queued()
	slices.Sort(got)
	want := []string{root, file}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("queued after overflow = %q, want every root %q", got, want)
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
