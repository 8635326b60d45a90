package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/supervisor"
	filesync "github.com/devdtool/devd/sync"
)

// ownRestartMargin is how long after a restart devd made a container's
// start event still counts as that restart's.
const ownRestartMargin = 2 * time.Second

// restartWindow is when devd restarted a container.
type restartWindow struct {
	begin, end time.Time // end is zero while the restart runs
	started    bool      // the restart's start event was seen
}

// markRestart records that devd restarts a container now, or that the
// restart ended.
func (w *worker) markRestart(id string, ended bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.restarts == nil {
		w.restarts = make(map[string]restartWindow)
	}
	win := w.restarts[id]
	if ended {
		win.end = time.Now()
	} else {
		win = restartWindow{begin: time.Now()}
	}
	w.restarts[id] = win
}

// ownRestart reports whether a container's start at t came from a restart
// devd made, which needs no reconciliation: the files were synced first.
// A restart starts its container once, so only the first start event in
// its window counts; a later one (docker start after docker stop) is not
// devd's.
func (w *worker) ownRestart(id string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	win, ok := w.restarts[id]
	if !ok || win.started || t.Before(win.begin.Add(-time.Second)) {
		return false
	}
	if !win.end.IsZero() && !t.Before(win.end.Add(ownRestartMargin)) {
		return false
	}
	win.started = true
	w.restarts[id] = win
	return true
}

// restartingNow reports whether devd was restarting the container at t:
// an exit then is the restart's own stop.
func (w *worker) restartingNow(id string, t time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	win, ok := w.restarts[id]
	if !ok || t.Before(win.begin.Add(-time.Second)) {
		return false
	}
	return win.end.IsZero() || !t.After(win.end)
}

// owner returns the owner of files written into a container: x-devd.user,
// else the container's configured user resolved through its /etc/passwd,
// cached per container.
func (w *worker) owner(ctx context.Context, c engine.Container) filesync.Owner {
	var uid, gid int
	if n, _ := fmt.Sscanf(w.svc.SyncUser, "%d:%d", &uid, &gid); n == 2 {
		return filesync.Owner{UID: uid, GID: gid}
	}
	w.mu.Lock()
	o, ok := w.owners[c.ID]
	w.mu.Unlock()
	if ok {
		return o
	}

	o, err := filesync.ResolveOwner(ctx, w.eng, c.ID, c.User)
	if err != nil {
		w.log.Warn("cannot resolve the container's user; files are written as root", "container", c.Name, "user", c.User, "error", err)
		o = filesync.Owner{}
	}
	w.mu.Lock()
	if w.owners == nil {
		w.owners = make(map[string]filesync.Owner)
	}
	w.owners[c.ID] = o
	w.mu.Unlock()
	return o
}

// usableTree reports whether devd can reach the tree's target in the
// container, through the archive API or through devd's supervisor. The
// first time it cannot, it logs why.
func (w *worker) usableTree(ctx context.Context, c engine.Container, t *filesync.Tree) bool {
	var err error
	if _, inside := w.files(ctx, c, []string{t.ContainerRoot}).(*supervisor.Files); inside {
		err = filesync.CheckTargetFromInside(c, t)
	} else {
		err = filesync.CheckTarget(c, t)
	}
	if err == nil {
		return true
	}
	key := c.ID + "\x00" + t.ContainerRoot
	w.mu.Lock()
	first := !w.reported[key]
	if w.reported == nil {
		w.reported = make(map[string]bool)
	}
	w.reported[key] = true
	w.mu.Unlock()
	if first {
		w.log.Error("cannot sync into this folder of the container", "container", c.Name, "target", t.ContainerRoot, "error", err)
		w.recordError(err)
		w.publish(event.Event{Type: event.SyncFailed, Container: c.Name, Error: err.Error()})
	}
	return false
}

// reconcile brings every synced folder of the service in each container up
// to date with the host, sending only the difference. It reports whether
// anything changed in a folder whose rule restarts the service.
func (w *worker) reconcile(ctx context.Context, containers []engine.Container) (restart bool, err error) {
	var errs []error
	for _, c := range containers {
		failed := false
		for i := range w.rules {
			rule := &w.rules[i]
			if rule.Tree == nil || !w.usableTree(ctx, c, rule.Tree) {
				continue
			}
			start := time.Now()
			owner := w.owner(ctx, c)
			progress := startProgress(w.publish, c.Name, defaultPacing)
			files := w.files(ctx, c, []string{rule.Tree.ContainerRoot})
			res, err := filesync.ReconcileProgress(ctx, files, c.ID, rule.Tree, owner, w.log, progress.report)
			progress.stop()
			if err != nil {
				w.forgetFiles(c.ID)
			}
			if err != nil {
				err = fmt.Errorf("reconciling %s in %s: %w", rule.Tree.ContainerRoot, c.Name, err)
				errs = append(errs, err)
				w.outOfSpace(c, err)
				failed = true
				continue
			}
			if res.Copied+res.Deleted == 0 {
				w.log.Debug("container matches the host", "container", c.Name, "target", rule.Tree.ContainerRoot,
					"duration", time.Since(start).Round(time.Millisecond))
				continue
			}
			w.log.Info("reconciled", "container", c.Name, "target", rule.Tree.ContainerRoot, "copied", res.Copied,
				"deleted", res.Deleted, "bytes", res.Bytes, "duration", time.Since(start).Round(time.Millisecond))
			w.publish(event.Event{Type: event.SyncDone, Container: c.Name, Files: res.Copied + res.Deleted, Bytes: res.Bytes,
				DurationMS: time.Since(start).Milliseconds(), Reason: "the container differed from the host"})
			w.state.mu.Lock()
			w.state.stats.lastSync = &syncStats{time: time.Now(), files: res.Copied + res.Deleted, bytes: res.Bytes, duration: time.Since(start)}
			w.state.mu.Unlock()
			if rule.Trigger.Action.Restarts() {
				restart = true
			}
		}
		if !failed {
			w.spaceAgain(c)
		}
	}
	if !restart && w.bindChangedSinceStart(ctx, containers) {
		w.log.Info("files changed while devd was not watching; restarting", "container", containers[0].Name)
		restart = true
	}
	return restart, errors.Join(errs...)
}

// bindChangedSinceStart reports whether a file that a restarting
// bind-mount rule watches changed after the oldest of the containers'
// processes started. Such a file is visible in the container at once, but
// its process started before the change, while devd was not watching. A
// process counts from devd's last signal or supervisor restart of it, which
// a reload keeps, or from the command start its supervisor reports.
func (w *worker) bindChangedSinceStart(ctx context.Context, containers []engine.Container) bool {
	var started time.Time
	for _, c := range containers {
		t := w.state.processStarted(c)
		if s := w.supervisedStart(ctx, c); s.After(t) {
			t = s
		}
		if started.IsZero() || t.Before(started) {
			started = t
		}
	}
	if started.IsZero() {
		return false
	}
	for i := range w.rules {
		rule := &w.rules[i]
		if !rule.Trigger.BindMounted || !rule.Trigger.Action.Restarts() {
			continue
		}
		if rule.ChangedSince(started) {
			return true
		}
	}
	return false
}

// supervisedStartTimeout bounds the status request to a container's
// supervisor. When it runs out, devd compares with the container's start.
const supervisedStartTimeout = 2 * time.Second

// supervisedStart returns when the command in a container under devd's
// supervisor last started, as the supervisor reports it through its
// socket, or the zero time when the container has no supervisor or it does
// not respond.
func (w *worker) supervisedStart(ctx context.Context, c engine.Container) time.Time {
	if !supervised(c) {
		return time.Time{}
	}
	socket, err := supervisorSocket(c)
	if err != nil {
		return time.Time{}
	}
	ctx, cancel := context.WithTimeout(ctx, supervisedStartTimeout)
	defer cancel()
	st, err := supervisor.NewSocketClient(socket).Status(ctx)
	if err != nil {
		w.log.Debug("supervisor status unavailable; comparing with the container's start", "container", c.Name, "error", err)
		return time.Time{}
	}
	return st.Started
}
