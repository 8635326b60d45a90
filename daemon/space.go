package daemon

import (
	"errors"
	"slices"
	"strings"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	filesync "github.com/devdtool/devd/sync"
)

// spaceFix is the advice for a full container file system.
const spaceFix = "free space in the container, or make the volume (or the engine's disk) bigger"

// outOfSpace reports whether err wraps engine.ErrNoSpace for container c.
// The first failure of a target logs an error with the fix and publishes a
// failed sync. Later failures of that target log at debug level only, until
// a sync into c succeeds. The caller keeps the work and retries it.
func (w *worker) outOfSpace(c engine.Container, err error) bool {
	if !errors.Is(err, engine.ErrNoSpace) {
		return false
	}
	targets := filesync.NoSpaceTargets(err)
	if len(targets) == 0 {
		// The failed call was not a copy of a tree, for example an exec.
		targets = []string{"(unknown folder)"}
	}

	w.mu.Lock()
	if w.full == nil {
		w.full = make(map[string][]string)
	}
	var fresh []string
	for _, t := range targets {
		if !slices.Contains(w.full[c.ID], t) {
			fresh = append(fresh, t)
		}
	}
	w.full[c.ID] = append(w.full[c.ID], fresh...)
	w.mu.Unlock()

	target := strings.Join(targets, ", ")
	if len(fresh) == 0 {
		w.log.Debug("container still out of space; retrying", "container", c.Name, "target", target)
		return true
	}
	w.log.Error("container out of space; the changes are kept and retried until there is room",
		"container", c.Name, "target", strings.Join(fresh, ", "), "fix", spaceFix, "error", err)
	w.recordError(err)
	w.publish(event.Event{Type: event.SyncFailed, Container: c.Name,
		Reason: "no space left at " + strings.Join(fresh, ", "), Error: err.Error()})
	return true
}

// isFull reports whether an out-of-space episode of the container is on.
func (w *worker) isFull(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.full[id]) > 0
}

// spaceAgain ends the out-of-space episode of container c after a sync
// into it succeeded, and logs that when one was reported.
func (w *worker) spaceAgain(c engine.Container) {
	w.mu.Lock()
	targets, was := w.full[c.ID]
	delete(w.full, c.ID)
	w.mu.Unlock()
	if was {
		w.log.Info("container has space again; kept changes applied", "container", c.Name, "target", strings.Join(targets, ", "))
	}
}
