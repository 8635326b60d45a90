package watch

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/fsnotify/fsnotify"
)

// maxRootChecks bounds the rounds of ensureRoots. A round that adds a watch
// is followed by another, because a root may have appeared before the watch
// was in place. Each round adds watches only deeper on the way to a root, so
// path depth bounds the rounds in practice.
const maxRootChecks = 64

// addTree watches dir and every folder under it that Skip keeps. With report
// set, dir and everything found under it are queued. A folder is watched
// before it is read, so a file created during the walk is either found or
// reported by its own event.
//
// Only a watch limit error stops the walk and is returned. Folders that
// vanish or cannot be read are logged and left out.
func (w *Watcher) addTree(dir string, report bool) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				w.log.Warn("reading folder failed, changes inside it will be missed", "path", path, "error", err)
			}
			return nil
		}

		isDir := d.IsDir()
		if w.skip(path, isDir) {
			if isDir {
				return filepath.SkipDir
			}
			return nil
		}

		if isDir {
			if err := w.addWatch(path); err != nil {
				if errors.Is(err, ErrWatchLimit) {
					return err
				}
				if !isVanished(err) {
					w.log.Warn("watching folder failed, changes inside it will be missed", "path", path, "error", err)
				}
				return filepath.SkipDir
			}
			w.recordDir(path)
		}

		if report {
			w.queue.push(path)
		}
		return nil
	})
}

// recordDir adds path to the watched folders, linked to its parent.
func (w *Watcher) recordDir(path string) {
	if _, ok := w.dirs[path]; !ok {
		w.dirs[path] = nil
	}

	parent := filepath.Dir(path)
	children, ok := w.dirs[parent]
	if !ok || parent == path {
		return
	}
	if children == nil {
		children = make(map[string]struct{})
		w.dirs[parent] = children
	}
	children[path] = struct{}{}
}

// dropTree removes the watched folder dir and every watched folder under it
// from the records, and removes their watches unless they serve as anchors.
func (w *Watcher) dropTree(dir string) {
	children, ok := w.dirs[dir]
	if !ok {
		return
	}
	for child := range children {
		w.dropTree(child)
	}

	delete(w.dirs, dir)
	if siblings := w.dirs[filepath.Dir(dir)]; siblings != nil {
		delete(siblings, dir)
	}
	if _, ok := w.anchors[dir]; !ok {
		w.removeWatch(dir)
	}
}

// ensureRoots brings the watches in line with what exists of each root. A
// folder root is walked when it is not watched yet, and a file root gets its
// parent watched. A missing root gets its nearest existing parent watched, so
// that its creation is seen. Anchors no longer needed are removed. With report
// set, roots that appeared since the last check are queued, folder roots with
// their content.
func (w *Watcher) ensureRoots(report bool) error {
	for range maxRootChecks {
		needed := make(map[string]struct{})
		for _, root := range w.roots {
			info, err := os.Lstat(root)
			exists := err == nil

			switch {
			case exists && info.IsDir():
				if _, watched := w.dirs[root]; !watched && !w.skip(root, true) {
					if err := w.addTree(root, report); err != nil {
						return err
					}
				}
			case exists:
				needed[filepath.Dir(root)] = struct{}{}
				if report && !w.present[root] && !w.skip(root, false) {
					w.queue.push(root)
				}
			default:
				needed[nearestDir(filepath.Dir(root))] = struct{}{}
			}
			w.present[root] = exists
		}

		added, err := w.setAnchors(needed)
		if err != nil || !added {
			return err
		}
	}
	return nil
}

// setAnchors makes the anchors the needed folders and reports whether a new
// anchor was added.
func (w *Watcher) setAnchors(needed map[string]struct{}) (bool, error) {
	added := false
	for dir := range needed {
		if _, ok := w.anchors[dir]; ok {
			continue
		}
		if err := w.addWatch(dir); err != nil {
			if errors.Is(err, ErrWatchLimit) {
				return added, err
			}
			// The folder vanished or cannot be watched: the next round or
			// the next event looks again.
			w.log.Debug("watching parent of root failed", "path", dir, "error", err)
			continue
		}
		w.anchors[dir] = struct{}{}
		added = true
	}

	for dir := range w.anchors {
		if _, ok := needed[dir]; ok {
			continue
		}
		delete(w.anchors, dir)
		if _, ok := w.dirs[dir]; !ok {
			w.removeWatch(dir)
		}
	}
	return added, nil
}

// rescan rebuilds the watches after events were lost, then queues every
// root, so that the consumer looks at everything again.
func (w *Watcher) rescan() error {
	// Forget folders that vanished while events were lost. Deleting from a
	// map while ranging over it is allowed, and deleted entries are not
	// visited.
	for dir := range w.dirs {
		if info, err := os.Lstat(dir); err != nil || !info.IsDir() {
			w.dropTree(dir)
		}
	}

	// Adding a watch that exists is harmless, so walking whole roots again
	// picks up the folders created while events were lost.
	for _, root := range w.roots {
		if info, err := os.Lstat(root); err == nil && info.IsDir() && !w.skip(root, true) {
			if err := w.addTree(root, false); err != nil {
				return err
			}
		}
	}
	err := w.ensureRoots(false)

	for _, root := range w.roots {
		w.queue.push(root)
	}
	return err
}

// addWatch adds an inotify watch for the folder path. Adding a watch that
// exists is allowed.
func (w *Watcher) addWatch(path string) error {
	if err := w.fsw.Add(path); err != nil {
		return addWatchError(path, err)
	}
	return nil
}

// removeWatch removes the watch for path. The kernel drops the watch of a
// deleted folder by itself, so failures are expected and only traced.
func (w *Watcher) removeWatch(path string) {
	err := w.fsw.Remove(path)
	if err != nil && !errors.Is(err, fsnotify.ErrNonExistentWatch) {
		w.log.Trace("removing watch failed", "path", path, "error", err)
	}
}

// isVanished reports whether err means that the path no longer exists or
// is no longer a folder.
func isVanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// nearestDir returns dir or its nearest parent that is an existing folder.
func nearestDir(dir string) string {
	for {
		if info, err := os.Stat(dir); err == nil && info.IsDir() {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		dir = parent
	}
}
