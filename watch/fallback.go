package watch

import (
	"errors"
	"time"

	"github.com/fsnotify/fsnotify"
)

// hooks are the kernel calls that the Watcher makes through a function, so
// that tests can make them fail like the kernel at its limits. A nil field
// selects the real call.
type hooks struct {
	// newInotify creates the inotify instance.
	newInotify func() (*fsnotify.Watcher, error)
	// addWatch adds a watch for a folder to fsw.
	addWatch func(fsw *fsnotify.Watcher, path string) error
	// pollInterval replaces DefaultPollInterval when it is above zero.
	pollInterval time.Duration
}

func (h hooks) withDefaults() hooks {
	if h.newInotify == nil {
		h.newInotify = fsnotify.NewWatcher
	}
	if h.addWatch == nil {
		h.addWatch = func(fsw *fsnotify.Watcher, path string) error { return fsw.Add(path) }
	}
	if h.pollInterval <= 0 {
		h.pollInterval = DefaultPollInterval
	}
	return h
}

// openInotify creates the inotify instance and starts the goroutine that
// drains it. When the instance limit is reached, it logs a warning and polls
// every root instead. It returns the errors that leave neither option.
func (w *Watcher) openInotify() error {
	fsw, err := w.hooks.newInotify()
	if err != nil {
		err = newWatcherError(err)
		if !errors.Is(err, ErrWatchLimit) {
			return err
		}
		w.limitWarned = true
		w.log.Warn("inotify instance limit reached, polling every root",
			"root_count", len(w.roots), "poll_interval", w.poll.base, "error", err)
		w.pollRoots()
		return nil
	}

	w.fsw = fsw
	w.drainDone = make(chan struct{})
	go func() {
		defer close(w.drainDone)
		w.inbox.drain(fsw)
	}()
	return nil
}

// fallBack polls path, because the watch limit error err keeps it from being
// watched. The first time, it logs a warning that names the limit and the
// command that raises it. With report set, path and everything inside it are
// reported, as for a new folder.
//
// NOTE: a polled path stays polled while it exists, even when watches become
// available again, because the Watcher cannot tell when that happens. A
// polled folder that is removed or renamed is watched again when it
// reappears, if the limit allows.
func (w *Watcher) fallBack(path string, err error, report bool) {
	if w.limitWarned {
		w.log.Debug("polling folder that cannot be watched", "path", path)
	} else {
		w.limitWarned = true
		w.log.Warn("inotify watch limit reached, polling the folders that cannot be watched",
			"path", path, "poll_interval", w.poll.base, "error", err)
	}
	w.startPolling(path, report)
}

// pollRoots polls every root.
func (w *Watcher) pollRoots() {
	for _, root := range w.roots {
		w.startPolling(root, false)
	}
}
