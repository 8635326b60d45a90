package watch

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/fsnotify/fsnotify"
)

// TestRecreatedAnchorWatchedAgain removes the folder that anchors a missing
// root and creates it again before the watcher looks, as a quick
// "rm -rf later && mkdir -p later/src" can. The new folder must get a watch
// of its own: the old one went with the old inode.
func TestRecreatedAnchorWatchedAgain(t *testing.T) {
	parent := t.TempDir()
	later := filepath.Join(parent, "later")
	root := filepath.Join(later, "src")
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var added []string
	record := func(fsw *fsnotify.Watcher, path string) error {
		mu.Lock()
		added = append(added, path)
		mu.Unlock()
		return fsw.Add(path)
	}
	w, err := newWatcher(Config{Roots: []string{root}}, hooks{addWatch: record})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	if _, ok := w.anchors[later]; !ok {
		t.Fatalf("anchors = %v, want %s, the nearest existing parent of the missing root", w.anchors, later)
	}

	// Renaming the old folder away keeps its inode in use, so the new one cannot
	// get its number back.
	if err := os.Rename(later, filepath.Join(parent, "old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	added = nil
	mu.Unlock()
	w.ensureRoots(true)

	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(added, later) {
		t.Errorf("watches added after %s was created again: %v, want %s", later, added, later)
	}
}
