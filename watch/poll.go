package watch

import (
	"path/filepath"
	"slices"
	"sync/atomic"
	"time"
)

// DefaultPollInterval is the polling interval of paths that cannot be
// watched because an inotify limit is reached. A change is then seen within
// about a second. Scanning a tree of 100,000 files took about 0.18 s of CPU
// time on a 2-core virtual machine. At this interval, polling such a tree
// whole would cost about 15% of one core.
const DefaultPollInterval = time.Second

// scanShare is the largest share of the polling interval that scanning may
// take. When a scan takes longer, the time until the next scan is stretched
// to scanShare times the scan's duration.
const scanShare = 4

// poller finds changes by scanning paths at an interval. Its fields belong to
// the goroutines running New, then Run, except list.
type poller struct {
	// roots are the polled paths in the order they were added. None lies
	// inside another.
	roots  []*pollRoot
	byPath map[string]*pollRoot

	base      time.Duration // interval between scans
	interval  time.Duration // base, stretched while scans are slow
	clock     Clock
	timer     Timer // created by Run, nil before
	armed     bool  // timer will fire
	stretched bool  // the stretch was logged

	// list is a sorted copy of the polled paths, for Polling. It is safe
	// for concurrent use.
	list atomic.Pointer[[]string]
}

// Polling returns the sorted paths whose changes are found by scanning at an
// interval instead of by inotify. These are every root when Config.Poll is
// set or no inotify instance could be created. Otherwise they are the folders
// and roots that could not be watched because the watch limit was reached. A
// path inside a polled folder is not listed. Polling is safe for concurrent
// use.
func (w *Watcher) Polling() []string {
	if list := w.poll.list.Load(); list != nil {
		return slices.Clone(*list)
	}
	return nil
}

// polled reports whether path is polled or lies inside a polled folder.
func (w *Watcher) polled(path string) bool {
	if len(w.poll.byPath) == 0 {
		return false
	}
	for p := path; ; {
		if _, ok := w.poll.byPath[p]; ok {
			return true
		}
		parent := filepath.Dir(p)
		if parent == p {
			return false
		}
		p = parent
	}
}

// startPolling polls path, which may be a folder, a file or missing, from
// now on. With report set, path and everything inside it are reported now,
// as for a new folder. Polled paths inside path are taken over.
func (w *Watcher) startPolling(path string, report bool) {
	if w.polled(path) {
		return
	}
	w.dropTree(path)

	// Changes under the polled paths taken over are reported first, because
	// the snapshot of path starts from what exists now.
	sc := newScanner(w.skip, w.queue.push, w.log)
	w.poll.roots = slices.DeleteFunc(w.poll.roots, func(r *pollRoot) bool {
		if !isWithin(r.path, path) {
			return false
		}
		sc.scanRoot(r)
		delete(w.poll.byPath, r.path)
		return true
	})

	root := &pollRoot{path: path}
	w.poll.roots = append(w.poll.roots, root)
	if w.poll.byPath == nil {
		w.poll.byPath = make(map[string]*pollRoot)
	}
	w.poll.byPath[path] = root
	w.publishPolling()

	var push func(string)
	if report {
		push = w.queue.push
	}
	newScanner(w.skip, push, w.log).scanRoot(root)
	w.armPoll()
}

// stopPolling stops polling the paths at or under path, except roots, after
// a last scan reports what changed under them. It serves a folder that was
// removed or renamed, whose new name the caller walks again.
func (w *Watcher) stopPolling(path string) {
	if len(w.poll.byPath) == 0 {
		return
	}
	sc := newScanner(w.skip, w.queue.push, w.log)
	before := len(w.poll.roots)
	w.poll.roots = slices.DeleteFunc(w.poll.roots, func(r *pollRoot) bool {
		if !isWithin(r.path, path) || slices.Contains(w.roots, r.path) {
			return false
		}
		sc.scanRoot(r)
		delete(w.poll.byPath, r.path)
		return true
	})
	if len(w.poll.roots) != before {
		w.publishPolling()
	}
}

// armPoll arms the timer for the next scan while Run runs and paths are
// polled.
func (w *Watcher) armPoll() {
	if !w.running || w.poll.armed || len(w.poll.roots) == 0 {
		return
	}
	if w.poll.timer == nil {
		w.poll.timer = w.poll.clock.NewTimer(w.poll.interval)
	} else {
		w.poll.timer.Reset(w.poll.interval)
	}
	w.poll.armed = true
}

// pollScan scans every polled path, queues what changed and arms the timer
// for the next scan. Run calls it when the timer fires.
func (w *Watcher) pollScan() {
	w.poll.armed = false
	start := w.poll.clock.Now()
	sc := newScanner(w.skip, w.queue.push, w.log)
	for _, r := range w.poll.roots {
		sc.scanRoot(r)
	}
	took := w.poll.clock.Now().Sub(start)

	next := nextPollInterval(w.poll.base, took)
	if next > w.poll.base && !w.poll.stretched {
		w.poll.stretched = true
		w.log.Debug("scanning is slow, polling less often",
			"scan_duration", took, "poll_interval", next, "path_count", sc.lstats)
	}
	w.poll.interval = next
	w.log.Trace("polled", "scan_duration", took, "path_count", sc.lstats, "folder_reads", sc.reads)
	w.armPoll()
}

// nextPollInterval returns the time from the end of a scan that lasted scan
// to the start of the next, for the interval base.
func nextPollInterval(base, scan time.Duration) time.Duration {
	if scan*scanShare > base {
		return scan * scanShare
	}
	return base
}

func (w *Watcher) publishPolling() {
	list := make([]string, 0, len(w.poll.roots))
	for _, r := range w.poll.roots {
		list = append(list, r.path)
	}
	slices.Sort(list)
	w.poll.list.Store(&list)
}
