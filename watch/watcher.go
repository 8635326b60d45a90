package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/fsnotify/fsnotify"
	"github.com/hashicorp/go-hclog"
)

// Config configures a Watcher.
type Config struct {
	// Roots are the folders and single files to watch. Relative paths are
	// made absolute against the working directory. A root that does not exist
	// yet is picked up when it appears.
	//
	// NOTE: roots are used as given. A root that is a symbolic link is
	// watched as a single file, so pass symlink-resolved paths.
	Roots []string

	// Skip reports whether path must be neither watched nor reported.
	// isDir is true when path is a folder. For a path that no longer exists,
	// isDir is true only when the path was a watched folder. Skip is called from
	// the goroutines running New and Run, never concurrently. Nil skips
	// nothing.
	Skip func(path string, isDir bool) bool

	// Logger receives the Watcher's logs. Nil discards them.
	Logger hclog.Logger
}

// Watcher reports changes under several roots, following new folders as they
// appear. See the package documentation for what it reports.
//
// New starts a goroutine and an inotify instance, so the caller must call Run
// or Close. Events, WatchCount and Close are safe for concurrent use; Run is
// called once.
type Watcher struct {
	fsw    *fsnotify.Watcher
	roots  []string
	skipFn func(path string, isDir bool) bool
	log    hclog.Logger

	events    chan string   // closed by Run
	inbox     *inbox        // filled by the drain goroutine
	drainDone chan struct{} // closed when the drain goroutine returns
	started   atomic.Bool   // Run was called

	// The fields below belong to the goroutine running New, then Run.

	// dirs maps each watched folder inside a root to its watched child
	// folders, so that a removed or renamed folder can be forgotten with
	// everything under it.
	dirs map[string]map[string]struct{}
	// anchors are the watched folders outside roots: the parent of a root
	// that is a file, and the nearest existing parent of a missing root.
	anchors map[string]struct{}
	// present records whether each root existed at the last check.
	present map[string]bool
	// queue holds the changed paths the consumer has not received yet.
	queue pathQueue
	// limitLogged is set once a watch limit error was logged at error level.
	limitLogged bool
}

// New creates an inotify instance and watches every folder under the roots
// that Skip keeps. It returns an error wrapping ErrWatchLimit when a kernel
// limit stops it.
func New(cfg Config) (*Watcher, error) {
	roots, err := absRoots(cfg.Roots)
	if err != nil {
		return nil, err
	}

	fsw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, newWatcherError(err)
	}

	w := &Watcher{
		fsw:       fsw,
		roots:     roots,
		skipFn:    cfg.Skip,
		log:       cfg.Logger,
		events:    make(chan string),
		inbox:     newInbox(),
		drainDone: make(chan struct{}),
		dirs:      make(map[string]map[string]struct{}),
		anchors:   make(map[string]struct{}),
		present:   make(map[string]bool),
	}
	if w.log == nil {
		w.log = hclog.NewNullLogger()
	}
	go func() {
		defer close(w.drainDone)
		w.inbox.drain(fsw)
	}()

	if err := w.ensureRoots(false); err != nil {
		_ = w.Close()
		return nil, err
	}
	return w, nil
}

// Events returns the channel of changed paths: absolute and cleaned, each
// either a root or a path inside a folder root. A path that is created,
// written, removed, renamed or changes mode is reported, and so is every
// file and folder found in a new folder. A renamed folder is reported under
// its old and its new path. A path is reported again for changes made after
// the consumer received it.
//
// Paths wait in a queue without duplicates until the consumer receives them,
// so a slow consumer never holds up the reading of kernel events. Run closes
// the channel when it returns, dropping paths not received yet.
func (w *Watcher) Events() <-chan string { return w.events }

// WatchCount returns the number of inotify watches the Watcher holds, which
// is the number of folders it watches. It returns 0 once the Watcher is
// closed.
func (w *Watcher) WatchCount() int { return len(w.fsw.WatchList()) }

// Close releases the inotify instance and stops the goroutine that New
// started. Run returns when Close is called. Close may be called more than
// once.
func (w *Watcher) Close() error {
	err := w.fsw.Close()
	<-w.drainDone
	if err != nil {
		return fmt.Errorf("closing inotify instance: %w", err)
	}
	return nil
}

// Run handles file system events until ctx is done or Close is called, then
// closes the Watcher and the Events channel. It returns nil after such a
// stop, and an error only when it is called a second time.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("running watcher: Run was already called")
	}
	defer close(w.events)
	defer func() {
		if err := w.Close(); err != nil {
			w.log.Warn("closing watcher failed", "error", err)
		}
	}()

	w.log.Info("watching", "root_count", len(w.roots), "watch_count", w.WatchCount())
	for {
		// A nil channel disables the send case while the queue is empty.
		var out chan<- string
		next, ok := w.queue.peek()
		if ok {
			out = w.events
		}

		select {
		case <-ctx.Done():
			w.log.Debug("watcher stopping", "reason", ctx.Err())
			return nil
		case <-w.drainDone:
			w.log.Debug("watcher stopping", "reason", "closed")
			return nil
		case <-w.inbox.ready:
			w.handleInbox()
		case out <- next:
			w.queue.pop()
		}
	}
}

func (w *Watcher) handleInbox() {
	events, errs, overflow := w.inbox.take()
	for _, ev := range events {
		w.logError(w.handleEvent(ev))
	}

	for _, err := range errs {
		if errors.Is(err, fsnotify.ErrEventOverflow) {
			overflow = true
			continue
		}
		w.log.Warn("file system watch failed", "error", err)
	}
	if overflow {
		w.log.Warn("events were lost because the kernel queue overflowed, rescanning every root",
			"root_count", len(w.roots))
		w.logError(w.rescan())
	}
}

// handleEvent reports the path of ev when it lies in a root and updates the
// watches: a new folder is walked, a removed or renamed one is forgotten, and
// a change on the way to a root checks the roots again.
func (w *Watcher) handleEvent(ev fsnotify.Event) error {
	path := filepath.Clean(ev.Name)
	w.log.Trace("file system event", "path", path, "op", ev.Op.String())

	_, wasDir := w.dirs[path]
	_, wasAnchor := w.anchors[path]
	if wasDir && (ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)) {
		// Watches follow the inode, so the watches under a renamed folder
		// would report paths under its old name. Forget them; the new name
		// arrives as a create event and is walked again.
		w.dropTree(path)
	}

	if w.inRoot(path) {
		isDir, exists := wasDir, false
		if ev.Has(fsnotify.Create) {
			if info, err := os.Lstat(path); err == nil {
				isDir, exists = info.IsDir(), true
			}
		}

		if !w.skip(path, isDir) {
			w.queue.push(path)

			// A folder created by "mkdir -p" or moved in arrives as one event
			// with its content already inside. Walking reports that content
			// and watches the subfolders.
			if exists && isDir {
				if err := w.addTree(path, true); err != nil {
					return err
				}
			}
		}
	}

	if wasAnchor || w.onRootPath(path) {
		return w.ensureRoots(true)
	}
	return nil
}

// logError logs an error from adding watches while running. The first watch
// limit error is logged at error level, because the fix is on the user's
// side, and later ones at debug level.
func (w *Watcher) logError(err error) {
	switch {
	case err == nil:
	case errors.Is(err, ErrWatchLimit) && !w.limitLogged:
		w.limitLogged = true
		w.log.Error("cannot watch every folder, changes in some folders will be missed", "error", err)
	case errors.Is(err, ErrWatchLimit):
		w.log.Debug("cannot watch every folder", "error", err)
	default:
		w.log.Warn("updating watches failed", "error", err)
	}
}

func (w *Watcher) skip(path string, isDir bool) bool {
	return w.skipFn != nil && w.skipFn(path, isDir)
}

// inRoot reports whether path is a root or lies inside one.
func (w *Watcher) inRoot(path string) bool {
	for _, r := range w.roots {
		if isWithin(path, r) {
			return true
		}
	}
	return false
}

// onRootPath reports whether path is a root or one of a root's parents.
func (w *Watcher) onRootPath(path string) bool {
	for _, r := range w.roots {
		if isWithin(r, path) {
			return true
		}
	}
	return false
}

// isWithin reports whether path is dir or lies inside it. Both are clean.
func isWithin(path, dir string) bool {
	if path == dir {
		return true
	}
	if dir == string(filepath.Separator) {
		return strings.HasPrefix(path, dir)
	}
	return strings.HasPrefix(path, dir+string(filepath.Separator))
}

// absRoots returns the roots made absolute and clean, without duplicates.
func absRoots(roots []string) ([]string, error) {
	if len(roots) == 0 {
		return nil, errors.New("creating watcher: no roots to watch")
	}

	seen := make(map[string]struct{}, len(roots))
	out := make([]string, 0, len(roots))
	for _, r := range roots {
		abs, err := filepath.Abs(r)
		if err != nil {
			return nil, fmt.Errorf("resolving watch root %q: %w", r, err)
		}
		if _, ok := seen[abs]; ok {
			continue
		}
		seen[abs] = struct{}{}
		out = append(out, abs)
	}
	return out, nil
}
