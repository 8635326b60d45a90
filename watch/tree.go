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

// reportMode selects what addTree queues.
type reportMode int

const (
	reportNothing reportMode = iota
	// reportAll queues the folder and everything found under it.
	reportAll
	// reportUnwatched queues the folders that were not watched before the
	// walk, with everything under them, such as a folder that was created,
	// or removed and created again, while events were lost.
	reportUnwatched
)

// watchedDir is a watched folder inside a root.
type watchedDir struct {
	ino      uint64              // inode number, 0 where unknown
	children map[string]struct{} // watched subfolders, nil when none
}

// addTree watches dir and every folder under it that Skip keeps, and queues
// what report selects. A folder is watched before it is read, so a file
// created during the walk is either found or reported by its own event.
//
// A folder that an inotify limit keeps from being watched is polled with
// everything under it. Folders that vanish or cannot be read are logged and
// left out.
func (w *Watcher) addTree(dir string, report reportMode) {
	var unwatched string // in reportUnwatched mode, the folder being queued
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
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

		queue := report == reportAll || (unwatched != "" && isWithin(path, unwatched))
		if isDir {
			if w.polled(path) {
				return filepath.SkipDir
			}
			if report == reportUnwatched && !queue {
				if _, ok := w.dirs[path]; !ok {
					unwatched, queue = path, true
				}
			}
			if !w.watchDir(path, d, queue) {
				return filepath.SkipDir
			}
		}

		if queue {
			w.queue.push(path)
		}
		return nil
	})
}

// watchDir adds a watch for the folder path, found as d, and records it. It
// returns false when the folder is not watched: it vanished, it cannot be
// watched, or a watch limit made it polled. In the last case, report selects
// whether the folder and its content are queued.
func (w *Watcher) watchDir(path string, d fs.DirEntry, report bool) bool {
	if err := w.addWatch(path); err != nil {
		switch {
		case errors.Is(err, ErrWatchLimit):
			w.fallBack(path, err, report)
		case !isVanished(err):
			w.log.Warn("watching folder failed, changes inside it will be missed", "path", path, "error", err)
		}
		return false
	}

	var ino uint64
	if info, err := d.Info(); err == nil {
		ino = fileID(info)
	}
	w.recordDir(path, ino)
	return true
}

// recordDir adds path, whose inode number is ino, to the watched folders,
// linked to its parent.
func (w *Watcher) recordDir(path string, ino uint64) {
	if d, ok := w.dirs[path]; ok {
		d.ino = ino
	} else {
		w.dirs[path] = &watchedDir{ino: ino}
	}

	parent := filepath.Dir(path)
	p, ok := w.dirs[parent]
	if !ok || parent == path {
		return
	}
	if p.children == nil {
		p.children = make(map[string]struct{})
	}
	p.children[path] = struct{}{}
}

// dropTree removes the watched folder dir and every watched folder under it
// from the records, and removes their watches unless they serve as anchors.
func (w *Watcher) dropTree(dir string) {
	d, ok := w.dirs[dir]
	if !ok {
		return
	}
	for child := range d.children {
		w.dropTree(child)
	}

	delete(w.dirs, dir)
	if parent := w.dirs[filepath.Dir(dir)]; parent != nil {
		delete(parent.children, dir)
	}
	if _, ok := w.anchors[dir]; !ok {
		w.removeWatch(dir)
	}
}

// ensureRoots brings the watches in line with what exists of each root that
// is not polled. A folder root is walked when it is not watched yet, and a
// file root gets its parent watched. A missing root gets its nearest existing
// parent watched, so that its creation is seen. Anchors no longer needed are
// removed. With report set, roots that appeared since the last check are
// queued, folder roots with their content.
func (w *Watcher) ensureRoots(report bool) {
	mode := reportNothing
	if report {
		mode = reportAll
	}

	for range maxRootChecks {
		// needed maps each folder to watch outside the roots to the roots
		// that need it.
		needed := make(map[string][]string)
		for _, root := range w.roots {
			if w.polled(root) {
				continue
			}
			info, err := os.Lstat(root)
			exists := err == nil

			switch {
			case exists && info.IsDir():
				if _, watched := w.dirs[root]; !watched && !w.skip(root, true) {
					w.addTree(root, mode)
				}
			case exists:
				parent := filepath.Dir(root)
				needed[parent] = append(needed[parent], root)
				if report && !w.present[root] && !w.skip(root, false) {
					w.queue.push(root)
				}
			default:
				dir := nearestDir(filepath.Dir(root))
				needed[dir] = append(needed[dir], root)
			}
			w.present[root] = exists
		}

		if !w.setAnchors(needed, report) {
			return
		}
	}
}

// setAnchors makes the anchors the needed folders and reports whether a new
// anchor was added. The roots that need a folder that a watch limit keeps
// from being watched are polled.
func (w *Watcher) setAnchors(needed map[string][]string, report bool) bool {
	added := false
	for dir, roots := range needed {
		// A folder removed and created again under the same name lost its
		// watch with the old inode, so only the same inode counts as watched.
		if id, ok := w.anchors[dir]; ok && id == dirID(dir) {
			continue
		}
		if err := w.addWatch(dir); err != nil {
			if errors.Is(err, ErrWatchLimit) {
				for _, root := range roots {
					w.fallBack(root, err, report)
				}
				continue
			}
			// The folder vanished or cannot be watched: the next round or
			// the next event looks again.
			w.log.Debug("watching parent of root failed", "path", dir, "error", err)
			continue
		}
		w.anchors[dir] = dirID(dir)
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
	return added
}

// rescan rebuilds the watches after events were lost, then queues every
// root, so that the consumer looks at everything again. Folders that were
// created, or removed and created again, while events were lost are queued
// with their content.
func (w *Watcher) rescan() {
	// A watch follows the inode, so the watch of a folder that was removed
	// went with it. fsnotify drops such a watch when the kernel reports
	// it gone. That report may be lost too, and a new folder may get the
	// old inode number back, so both are checked.
	watched := make(map[string]struct{})
	for _, p := range w.fsw.WatchList() {
		watched[p] = struct{}{}
	}
	lost := func(dir string, ino uint64) bool {
		_, ok := watched[dir]
		return !ok || !sameDir(dir, ino)
	}

	// Forget the folders whose watch was lost. Deleting from a map while
	// ranging over it is allowed, and deleted entries are not visited.
	for dir, d := range w.dirs {
		if lost(dir, d.ino) {
			w.dropTree(dir)
			w.stopPolling(dir)
		}
	}
	for dir, ino := range w.anchors {
		if lost(dir, ino) {
			delete(w.anchors, dir)
			if _, ok := w.dirs[dir]; !ok {
				w.removeWatch(dir)
			}
		}
	}

	// Adding a watch that exists is harmless, so walking whole roots again
	// picks up the folders created while events were lost.
	for _, root := range w.roots {
		if w.polled(root) {
			continue
		}
		if info, err := os.Lstat(root); err == nil && info.IsDir() && !w.skip(root, true) {
			w.addTree(root, reportUnwatched)
		}
	}
	w.ensureRoots(false)

	for _, root := range w.roots {
		w.queue.push(root)
	}
}

// sameDir reports whether path is a folder with the inode number ino, or
// any folder when ino is 0.
func sameDir(path string, ino uint64) bool {
	info, err := os.Lstat(path)
	return err == nil && info.IsDir() && (ino == 0 || fileID(info) == ino)
}

// dirID returns the inode number of the folder path, or 0.
func dirID(path string) uint64 {
	info, err := os.Lstat(path)
	if err != nil {
		return 0
	}
	return fileID(info)
}

// addWatch adds an inotify watch for the folder path. Adding a watch that
// exists is allowed.
func (w *Watcher) addWatch(path string) error {
	if err := w.hooks.addWatch(w.fsw, path); err != nil {
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
