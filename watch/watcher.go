package watch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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

	// Poll is the interval at which the roots are scanned for changes, in
	// place of inotify. Zero or less uses inotify, and scans at
	// DefaultPollInterval only the paths that an inotify limit keeps from
	// being watched. Polling is needed where inotify reports no changes made
	// elsewhere, such as on network shares. The interval is stretched while a
	// scan takes more than a quarter of it.
	Poll time.Duration

	// Clock is the source of time for polling. Nil selects RealClock.
	Clock Clock
}

// Watcher reports changes under several roots, following new folders as they
// appear. See the package documentation for what it reports.
//
// New may start a goroutine and an inotify instance, so the caller must call
// Run or Close. Events, WatchCount, Polling and Close are safe for concurrent
// use; Run is called once.
type Watcher struct {
	fsw    *fsnotify.Watcher // nil when every root is polled
	roots  []string
	skipFn func(path string, isDir bool) bool
	log    hclog.Logger
	hooks  hooks

	events    chan string   // closed by Run
	inbox     *inbox        // filled by the drain goroutine
	drainDone chan struct{} // closed when the drain goroutine returns, nil without fsw
	closed    chan struct{} // closed by Close
	closeOnce sync.Once
	started   atomic.Bool // Run was called

	// The fields below belong to the goroutine running New, then Run.

	// dirs maps each watched folder inside a root to its inode and watched
	// child folders, so that a removed or renamed folder can be forgotten
	// with everything under it.
	dirs map[string]*watchedDir
	// anchors maps the watched folders outside roots to their inode
	// numbers: the parent of a root that is a file, and the nearest existing
	// parent of a missing root.
	anchors map[string]uint64
	// present records whether each root existed at the last check.
	present map[string]bool
	// queue holds the changed paths the consumer has not received yet.
	queue pathQueue
	// poll scans the paths that are not watched with inotify.
	poll poller
	// running is set once Run has started.
	running bool
	// limitWarned is set once an inotify limit was logged at warning level.
	limitWarned bool
}

// New creates an inotify instance and watches every folder under the roots
// that Skip keeps. Where an inotify limit stops it, New logs a warning that
// names the command raising the limit, and polls what it cannot watch. With
// Config.Poll set, New takes a snapshot of the roots and uses no inotify.
func New(cfg Config) (*Watcher, error) {
	return newWatcher(cfg, hooks{})
}

func newWatcher(cfg Config, h hooks) (*Watcher, error) {
	roots, err := absRoots(cfg.Roots)
	if err != nil {
		return nil, err
	}

	w := &Watcher{
		roots:   roots,
		skipFn:  cfg.Skip,
		log:     cfg.Logger,
		hooks:   h.withDefaults(),
		events:  make(chan string),
		inbox:   newInbox(),
		closed:  make(chan struct{}),
		dirs:    make(map[string]*watchedDir),
		anchors: make(map[string]uint64),
		present: make(map[string]bool),
	}
	if w.log == nil {
		w.log = hclog.NewNullLogger()
	}
	w.poll.clock = cfg.Clock
	if w.poll.clock == nil {
		w.poll.clock = RealClock
	}
	w.poll.base = w.hooks.pollInterval
	if cfg.Poll > 0 {
		w.poll.base = cfg.Poll
	}
	w.poll.interval = w.poll.base

	if cfg.Poll > 0 {
		w.log.Debug("polling instead of using inotify", "poll_interval", cfg.Poll)
		w.pollRoots()
		return w, nil
	}
	if err := w.openInotify(); err != nil {
		return nil, err
	}
	w.ensureRoots(false)
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
// closed, and when it polls every root.
func (w *Watcher) WatchCount() int {
	if w.fsw == nil {
		return 0
	}
	return len(w.fsw.WatchList())
}

// Close releases the inotify instance and stops the goroutine that New
// started. Run returns when Close is called. Close may be called more than
// once.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() { close(w.closed) })
	if w.fsw == nil {
		return nil
	}

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
	defer func() {
		if w.poll.timer != nil {
			w.poll.timer.Stop()
		}
	}()

	w.running = true
	w.armPoll()
	w.log.Info("watching", "root_count", len(w.roots), "watch_count", w.WatchCount(),
		"polled_count", len(w.poll.roots))
	for {
		// A nil channel disables its case: sending while the queue is empty,
		// and waiting for a scan while none is due.
		var out chan<- string
		next, ok := w.queue.peek()
		if ok {
			out = w.events
		}
		var scan <-chan time.Time
		if w.poll.armed {
			scan = w.poll.timer.C()
		}

		select {
		case <-ctx.Done():
			w.log.Debug("watcher stopping", "reason", ctx.Err())
			return nil
		case <-w.closed:
			w.log.Debug("watcher stopping", "reason", "closed")
			return nil
		case <-w.drainDone:
			w.log.Debug("watcher stopping", "reason", "inotify closed")
			return nil
		case <-w.inbox.ready:
			w.handleInbox()
		case <-scan:
			w.pollScan()
		case out <- next:
			w.queue.pop()
		}
	}
}

func (w *Watcher) handleInbox() {
	events, errs, overflow := w.inbox.take()
	for _, ev := range events {
		w.handleEvent(ev)
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
		w.rescan()
	}
}

// handleEvent reports the path of ev when it lies in a root and updates the
// watches: a new folder is walked, a removed or renamed one is forgotten, and
// a change on the way to a root checks the roots again.
func (w *Watcher) handleEvent(ev fsnotify.Event) {
	path := filepath.Clean(ev.Name)
	w.log.Trace("file system event", "path", path, "op", ev.Op.String())

	_, wasDir := w.dirs[path]
	_, wasAnchor := w.anchors[path]
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		// Watches follow the inode, so the watches under a renamed folder
		// would report paths under its old name. Forget them; the new name
		// arrives as a create event and is walked again.
		if wasDir {
			w.dropTree(path)
		}
		w.stopPolling(path)
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
				w.addTree(path, reportAll)
			}
		}
	}

	if wasAnchor || w.onRootPath(path) {
		w.ensureRoots(true)
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
