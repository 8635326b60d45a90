package watch

import (
	"sync"

	"github.com/fsnotify/fsnotify"
)

// pathQueue is a first-in first-out queue of distinct paths: a path that is
// already queued keeps its place. It is not safe for concurrent use.
type pathQueue struct {
	order  []string
	queued map[string]struct{}
}

func (q *pathQueue) push(p string) {
	if _, ok := q.queued[p]; ok {
		return
	}
	if q.queued == nil {
		q.queued = make(map[string]struct{})
	}
	q.queued[p] = struct{}{}
	q.order = append(q.order, p)
}

func (q *pathQueue) peek() (string, bool) {
	if len(q.order) == 0 {
		return "", false
	}
	return q.order[0], true
}

func (q *pathQueue) pop() {
	delete(q.queued, q.order[0])
	q.order = q.order[1:]
	if len(q.order) == 0 {
		// Let the drained backing array go.
		q.order = nil
	}
}

// maxInboxEvents bounds the events held between fsnotify and the Watcher's
// loop. The kernel's own queue holds 16384 events by default
// (fs.inotify.max_queued_events), so four times that absorbs bursts that
// the kernel itself could not.
const maxInboxEvents = 4 * 16384

// inbox receives everything fsnotify sends, from a goroutine that does
// nothing else. fsnotify reads the kernel queue and sends on unbuffered
// channels from a single goroutine, so a slow receiver stops the reading. That
// goroutine also sends some errors while it holds the lock that Add and Remove
// take, so a receiver that calls Add can deadlock with it. The drain goroutine
// never calls Add or Remove, and it hands everything to the Watcher's loop
// without waiting for it.
type inbox struct {
	mu       sync.Mutex
	events   []fsnotify.Event // guarded by mu
	errs     []error          // guarded by mu
	overflow bool             // events were dropped, guarded by mu

	// ready has room for one value. A value in it signals the loop that the
	// inbox may have something to take.
	ready chan struct{}
}

func newInbox() *inbox {
	return &inbox{ready: make(chan struct{}, 1)}
}

// drain moves everything fsnotify sends into the inbox until fsnotify
// closes its channels.
func (in *inbox) drain(fsw *fsnotify.Watcher) {
	for {
		select {
		case ev, ok := <-fsw.Events:
			if !ok {
				return
			}
			in.mu.Lock()
			if len(in.events) < maxInboxEvents {
				in.events = append(in.events, ev)
			} else {
				in.overflow = true
			}
			in.mu.Unlock()

		case err, ok := <-fsw.Errors:
			if !ok {
				return
			}
			in.mu.Lock()
			in.errs = append(in.errs, err)
			in.mu.Unlock()
		}

		select {
		case in.ready <- struct{}{}:
		default:
		}
	}
}

// take empties the inbox. overflow is true when events were dropped since the
// last call.
func (in *inbox) take() (events []fsnotify.Event, errs []error, overflow bool) {
	in.mu.Lock()
	defer in.mu.Unlock()

	events, errs, overflow = in.events, in.errs, in.overflow
	in.events, in.errs, in.overflow = nil, nil, false
	return events, errs, overflow
}
