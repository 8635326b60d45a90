package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
	"github.com/hashicorp/go-hclog"
)

// Retry bounds for work that failed because a container or the engine
// could not take it.
const (
	retryMinDelay = 500 * time.Millisecond
	retryMaxDelay = 15 * time.Second
)

// worker owns one service: it applies the service's pending work to its
// running containers, one batch at a time, so syncs and restarts of a
// service never overlap. Work that arrives while a batch is being applied
// is merged into the next batch, so a change during a restart leads to
// exactly one more restart.
//
// add and poke may be called from any goroutine; run is called once.
type worker struct {
	svc  compose.Service
	eng  Engine
	reg  *registry
	log  hclog.Logger
	loop *loopGuard

	wake chan struct{} // capacity 1; a pending token means "look again"

	mu         sync.Mutex
	pending    plan.Work // guarded by mu
	restarting bool      // guarded by mu; true while containers restart
	waiting    bool      // guarded by mu; "waiting for a container" was logged
	onRestart  []func()  // guarded by mu; called when a restart begins
}

func newWorker(svc compose.Service, eng Engine, reg *registry, log hclog.Logger) *worker {
	return &worker{
		svc:     svc,
		eng:     eng,
		reg:     reg,
		log:     log,
		loop:    newLoopGuard(),
		wake:    make(chan struct{}, 1),
		pending: plan.Work{Service: svc.Name},
	}
}

// add queues work and wakes the worker. Paths the loop guard has
// suppressed are dropped first.
func (w *worker) add(work plan.Work) {
	work = w.loop.filter(work, w.log)
	if work.PathCount == 0 {
		return
	}
	w.mu.Lock()
	w.loop.observe(work, w.restarting)
	w.pending.Merge(work)
	w.mu.Unlock()
	w.poke()
}

// poke wakes the worker without adding work, for example when one of the
// service's containers started.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Restarting reports whether a restart is under way.
func (w *worker) Restarting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.restarting
}

// OnRestart registers a function called each time a restart begins.
func (w *worker) OnRestart(f func()) {
	w.mu.Lock()
	w.onRestart = append(w.onRestart, f)
	w.mu.Unlock()
}

// takePending returns the pending work and leaves an empty one in place.
func (w *worker) takePending() plan.Work {
	w.mu.Lock()
	defer w.mu.Unlock()
	work := w.pending
	w.pending = plan.Work{Service: w.svc.Name}
	return work
}

// putBack merges work that could not be applied in front of newer work.
func (w *worker) putBack(work plan.Work) {
	w.mu.Lock()
	defer w.mu.Unlock()
	work.Merge(w.pending)
	w.pending = work
}

// Pending returns a copy of the work not yet applied.
func (w *worker) Pending() plan.Work {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

func (w *worker) run(ctx context.Context) {
	var retry <-chan time.Time
	delay := retryMinDelay

	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-retry:
		}
		retry = nil

		work := w.takePending()
		if work.Empty() {
			continue
		}
		err := w.apply(ctx, work)
		if err == nil {
			delay = retryMinDelay
			continue
		}
		if ctx.Err() != nil {
			w.putBack(work)
			return
		}

		w.putBack(work)
		if errors.Is(err, errNoContainer) {
			// The registry pokes the worker when a container starts.
			continue
		}
		w.log.Warn("changes not applied yet; retrying", "error", err, "retry_in", delay)
		retry = time.After(delay)
		delay *= 2
		if delay > retryMaxDelay {
			delay = retryMaxDelay
		}
	}
}

var errNoContainer = errors.New("no running container")

// apply syncs the work into every running container of the service, then
// restarts the service when the work asks for it. A failed container does
// not stop the others; the work is kept for a retry when any failed, and
// the sync is repeated there, which is harmless because the host state is
// what is copied.
func (w *worker) apply(ctx context.Context, work plan.Work) error {
	containers := w.reg.Running(w.svc.Name)
	if len(containers) == 0 {
		w.mu.Lock()
		first := !w.waiting
		w.waiting = true
		w.mu.Unlock()
		if first {
			w.log.Info("waiting for a running container; changes are kept until it starts", "path_count", work.PathCount)
		}
		return errNoContainer
	}
	w.mu.Lock()
	if w.waiting {
		w.log.Info("container running; applying kept changes", "container", containers[0].Name)
	}
	w.waiting = false
	w.mu.Unlock()

	if len(work.Changes) > 0 {
		if err := w.sync(ctx, containers, work); err != nil {
			return err
		}
	}

	if work.Restart {
		return w.restart(ctx, containers, work)
	}
	return nil
}

func (w *worker) sync(ctx context.Context, containers []engine.Container, work plan.Work) error {
	var errs []error
	for _, c := range containers {
		start := time.Now()
		res, err := filesync.Apply(ctx, w.eng, c.ID, work.Changes, ownerOf(c), w.log)
		if err != nil {
			errs = append(errs, fmt.Errorf("syncing %d paths to %s: %w", len(work.Changes), c.Name, err))
			continue
		}
		w.log.Info("synced", "container", c.Name, "copied", res.Copied, "deleted", res.Deleted,
			"bytes", res.Bytes, "duration", time.Since(start).Round(time.Millisecond))
		for _, s := range res.Skipped {
			w.log.Warn("path skipped", "container", c.Name, "path", s)
		}
	}
	return errors.Join(errs...)
}

func (w *worker) restart(ctx context.Context, containers []engine.Container, work plan.Work) error {
	mode := w.svc.Restart
	if mode.Kind == compose.RestartNone {
		return nil
	}

	w.mu.Lock()
	w.restarting = true
	hooks := append([]func(){}, w.onRestart...)
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.restarting = false
		w.mu.Unlock()
		w.loop.restarted()
	}()
	for _, hook := range hooks {
		hook()
	}

	w.log.Info("restarting", "mode", mode.String(), "reason", reasonText(work))
	start := time.Now()
	var errs []error
	for _, c := range containers {
		var err error
		switch mode.Kind {
		case compose.RestartSignal:
			err = w.eng.SignalContainer(ctx, c.ID, mode.Signal)
		default:
			err = w.eng.RestartContainer(ctx, c.ID, w.svc.StopGracePeriod)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("restarting %s: %w", c.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	w.log.Info("restarted", "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

func reasonText(work plan.Work) string {
	text := strings.Join(work.Reasons, ", ") + " changed"
	if extra := work.PathCount - len(work.Reasons); extra > 0 {
		text = fmt.Sprintf("%s, and %d more", text, extra)
	}
	return text
}

// ownerOf returns the owner of files written into the container: its
// configured numeric user, or root.
//
// NOTE: a user given by name ("node") is not resolved yet, so its files are
// owned by root. Resolving it needs the container's /etc/passwd.
func ownerOf(c engine.Container) filesync.Owner {
	var uid, gid int
	user := c.User
	if user == "" {
		return filesync.Owner{}
	}
	if n, _ := fmt.Sscanf(user, "%d:%d", &uid, &gid); n == 2 {
		return filesync.Owner{UID: uid, GID: gid}
	}
	if n, _ := fmt.Sscanf(user, "%d", &uid); n == 1 && fmt.Sprint(uid) == user {
		return filesync.Owner{UID: uid, GID: uid}
	}
	return filesync.Owner{}
}
