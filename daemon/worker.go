package daemon

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/supervisor"
	filesync "github.com/devdtool/devd/sync"
	"github.com/hashicorp/go-hclog"
)

// Retry bounds for work that failed because a container or the engine
// could not take it.
const (
	retryMinDelay = 500 * time.Millisecond
	retryMaxDelay = 15 * time.Second
)

// maxKeptErrors is how many recent errors a service's status shows.
const maxKeptErrors = 5

// worker owns one service: it applies the service's pending work to its
// running containers, one batch at a time, so syncs and restarts of a
// service never overlap. Work that arrives while a batch is being applied
// is merged into the next batch, so a change during a restart leads to
// exactly one more restart.
//
// add, poke and the accessors may be called from any
// goroutine; run is called once.
type worker struct {
	svc  compose.Service
	eng  Engine
	reg  *registry
	log  hclog.Logger
	bus  *event.Bus
	loop *loopGuard

	wake chan struct{} // capacity 1; a pending token means "look again"

	// state outlives the worker: a configuration reload starts new
	// workers on the same state.
	state *serviceState

	// rules are the service's compiled watch rules; fixed at creation.
	rules []plan.Rule
	// session is the session the worker belongs to; nil in unit tests.
	session *session

	mu         sync.Mutex
	owners     map[string]filesync.Owner    // guarded by mu; resolved owners by container id
	reported   map[string]bool              // guarded by mu; problems reported once, by key
	restarts   map[string]restartWindow     // guarded by mu; devd's restarts by container id
	full       map[string][]string          // guarded by mu; full targets by container id, until a sync succeeds
	pending    plan.Work                    // guarded by mu
	waiters    []chan error                 // guarded by mu; notified when the pending work is applied
	restarting bool                         // guarded by mu; true while containers restart
	waiting    bool                         // guarded by mu; "waiting for a container" was reported
	onRestart  []func()                     // guarded by mu; called when a restart begins
	pausedBy   []func() bool                // guarded by mu; each reports whether a debugger holds the program
	onResumed  []func()                     // guarded by mu; called when devd let a debugged program run itself
	crash      crashState                   // guarded by mu
	fileAPIs   map[string]*supervisor.Files // guarded by mu; by container id, nil when the engine copies
	// fileProbeFailed is when a supervisor last did not respond, by
	// container id. Guarded by mu.
	fileProbeFailed map[string]time.Time

	// retryMin and retryMax bound the delay before failed work is tried
	// again. They are fixed at creation.
	retryMin, retryMax time.Duration
}

// serviceState is the part of a service's state that survives a reload.
// It is safe for concurrent use.
type serviceState struct {
	mu     sync.Mutex
	paused bool         // guarded by mu
	stats  serviceStats // guarded by mu
	// processRestarts maps a container id to when devd last began a
	// restart of the container's process. A signal or supervisor restart
	// leaves the container's start time as it was. Guarded by mu.
	processRestarts map[string]time.Time
}

// noteProcessRestart records that devd begins to restart the process in a
// container now.
func (s *serviceState) noteProcessRestart(id string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.processRestarts == nil {
		s.processRestarts = make(map[string]time.Time)
	}
	s.processRestarts[id] = t
}

// processStarted returns the later of the container's start time and
// devd's last restart of its process.
func (s *serviceState) processStarted(c engine.Container) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.processRestarts[c.ID]; ok && t.After(c.StartedAt) {
		return t
	}
	return c.StartedAt
}

// serviceStats is the part of a service's status that workers record.
type serviceStats struct {
	lastSync     *syncStats
	lastRestart  *restartStats
	restartCount int
	errors       []string // most recent last
}

type syncStats struct {
	time     time.Time
	files    int
	bytes    int64
	duration time.Duration
}

type restartStats struct {
	time   time.Time
	reason string
	ready  time.Duration // from the first change to ready; 0 when unknown
}

func newWorker(svc compose.Service, rules []plan.Rule, eng Engine, reg *registry, log hclog.Logger, bus *event.Bus, state *serviceState) *worker {
	if state == nil {
		state = &serviceState{}
	}
	return &worker{
		rules:    rules,
		state:    state,
		svc:      svc,
		eng:      eng,
		reg:      reg,
		log:      log,
		bus:      bus,
		loop:     newLoopGuard(),
		wake:     make(chan struct{}, 1),
		pending:  plan.Work{Service: svc.Name},
		retryMin: retryMinDelay,
		retryMax: retryMaxDelay,
	}
}

// add queues work and wakes the worker. Paths the loop guard has
// suppressed are dropped first.
func (w *worker) add(work plan.Work) {
	w.addWaiting(work, nil)
}

// addWaiting queues work like add; done, when not nil, receives the
// result once the work has been applied.
func (w *worker) addWaiting(work plan.Work, done chan error) {
	// Only what the container can write back on the host can loop.
	guarded := writableByContainer(work)
	if work.Restart && !w.loop.filter(guarded, w.Restarting(), w.log, w.publish).Restart {
		work.Restart = false
	}
	w.mu.Lock()
	w.loop.observe(guarded, w.restarting)
	w.pending.Merge(work)
	if done != nil {
		w.waiters = append(w.waiters, done)
	}
	w.mu.Unlock()
	w.poke()
}

// writableByContainer returns work without the reasons that are synced
// paths, for the loop guard. A container cannot change the host's copy of a
// synced file, so only a bind-mounted path can make a restart loop.
func writableByContainer(work plan.Work) plan.Work {
	if len(work.Changes) == 0 || len(work.Reasons) == 0 {
		return work
	}
	var kept []string
	for _, r := range work.Reasons {
		synced := false
		for _, c := range work.Changes {
			if c.HostPath == r || strings.HasSuffix(c.HostPath, string(filepath.Separator)+filepath.FromSlash(r)) {
				synced = true
				break
			}
		}
		if !synced {
			kept = append(kept, r)
		}
	}
	work.PathCount -= len(work.Reasons) - len(kept)
	work.Reasons = kept
	return work
}

// poke wakes the worker without adding work, for example when one of the
// service's containers started.
func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Paused reports whether the worker is paused.
func (w *worker) Paused() bool {
	w.state.mu.Lock()
	defer w.state.mu.Unlock()
	return w.state.paused
}

// Restarting reports whether a restart is under way.
func (w *worker) Restarting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.restarting
}

// watchPaused registers a function that reports whether a debugger holds
// the service's program paused.
func (w *worker) watchPaused(f func() bool) {
	w.mu.Lock()
	w.pausedBy = append(w.pausedBy, f)
	w.mu.Unlock()
}

// debuggerPaused reports whether a debugger holds the program paused.
func (w *worker) debuggerPaused() bool {
	w.mu.Lock()
	checks := append([]func() bool(nil), w.pausedBy...)
	w.mu.Unlock()
	for _, paused := range checks {
		if paused() {
			return true
		}
	}
	return false
}

// OnResumed registers a function called when devd has let the program run
// through a connection of its own to the debugger (a swap under Delve),
// which the debug proxies do not see.
func (w *worker) OnResumed(f func()) {
	w.mu.Lock()
	w.onResumed = append(w.onResumed, f)
	w.mu.Unlock()
}

// resumed calls the OnResumed functions.
func (w *worker) resumed() {
	w.mu.Lock()
	hooks := append([]func(){}, w.onResumed...)
	w.mu.Unlock()
	for _, hook := range hooks {
		hook()
	}
}

// OnRestart registers a function called each time a restart begins.
func (w *worker) OnRestart(f func()) {
	w.mu.Lock()
	w.onRestart = append(w.onRestart, f)
	w.mu.Unlock()
}

// Pending returns a copy of the work not yet applied.
func (w *worker) Pending() plan.Work {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pending
}

// Stats returns a copy of the service's statistics.
func (w *worker) Stats() serviceStats {
	w.state.mu.Lock()
	defer w.state.mu.Unlock()
	s := w.state.stats
	s.errors = append([]string(nil), s.errors...)
	return s
}

// take returns the pending work and its waiters, leaving nothing pending.
// It returns false while paused.
func (w *worker) take() (plan.Work, []chan error, bool) {
	if w.Paused() {
		return plan.Work{}, nil, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	work, waiters := w.pending, w.waiters
	w.pending, w.waiters = plan.Work{Service: w.svc.Name}, nil
	return work, waiters, true
}

// putBack merges work that could not be applied in front of newer work.
func (w *worker) putBack(work plan.Work, waiters []chan error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	work.Merge(w.pending)
	w.pending = work
	w.waiters = append(waiters, w.waiters...)
}

func (w *worker) run(ctx context.Context) {
	var retry <-chan time.Time
	delay := w.retryMin
	defer w.failWaiters(errStopped)

	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-retry:
		}
		retry = nil

		work, waiters, ok := w.take()
		if !ok {
			continue
		}
		if work.Empty() {
			notify(waiters, nil)
			continue
		}
		err := w.apply(ctx, work)
		if err == nil {
			delay = w.retryMin
			notify(waiters, nil)
			continue
		}
		if ctx.Err() != nil {
			w.putBack(work, waiters)
			return
		}

		var perm *permanentError
		if errors.As(err, &perm) {
			// Retrying cannot help; the next change tries again.
			w.recordError(err)
			notify(waiters, err)
			continue
		}
		w.putBack(work, waiters)
		if errors.Is(err, errNoContainer) {
			// The registry pokes the worker when a container starts.
			continue
		}
		switch {
		case errors.Is(err, engine.ErrNoSpace):
			// outOfSpace has reported it once for the whole episode.
			w.log.Debug("changes not applied yet; retrying", "error", err, "retry_in", delay)
		case delay == w.retryMin:
			w.recordError(err)
			w.log.Warn("changes not applied yet; retrying", "error", err, "retry_in", delay)
		default:
			// The first failure was reported; later ones differ only in delay.
			w.recordError(err)
			w.log.Debug("changes still not applied; retrying", "error", err, "retry_in", delay)
		}
		retry = time.After(delay)
		delay = min(2*delay, w.retryMax)
	}
}

func notify(waiters []chan error, err error) {
	for _, ch := range waiters {
		ch <- err
	}
}

func (w *worker) failWaiters(err error) {
	w.mu.Lock()
	waiters := w.waiters
	w.waiters = nil
	w.mu.Unlock()
	notify(waiters, err)
}

var errNoContainer = errors.New("no running container")

// permanentError marks a failure that a retry of the same work cannot fix,
// such as a failed host build.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// apply syncs the work into every running container of the service, then
// restarts the service when the work asks for it. A failed container does
// not stop the others; the work is kept for a retry when any failed, and
// the sync is repeated there, which is harmless because the host state is
// what is copied.
func (w *worker) apply(ctx context.Context, work plan.Work) error {
	containers := w.reg.Running(w.svc.Name)
	if len(containers) == 0 && !w.reg.Listed() {
		// Work carried over a reload comes before the new registry's first
		// listing, which wakes the worker again.
		return errNoContainer
	}
	if work.Rebuild && (len(containers) > 0 || len(w.crashedContainers()) > 0) {
		// The recreated containers start from the new image, and their
		// start reconciles the synced folders: the rest of the work is moot.
		// A service stopped on purpose keeps the rebuild until it runs
		// again, because docker compose up would start it.
		return w.rebuild(ctx, work)
	}
	if len(containers) == 0 {
		if crashed := w.crashedContainers(); len(crashed) > 0 && !work.Revived && (work.Restart || len(work.Changes) > 0 || work.Build) {
			if work.Build {
				if err := w.build(ctx, &work); err != nil {
					return err
				}
			}
			return w.revive(ctx, crashed, work)
		}
		if work.PathCount == 0 {
			// Only a comparison with the host waits, which the container's
			// start brings anyway: nothing to report.
			return errNoContainer
		}
		w.mu.Lock()
		first := !w.waiting
		w.waiting = true
		w.mu.Unlock()
		if first {
			w.log.Info("waiting for a running container; changes are kept until it starts", "path_count", work.PathCount)
			w.publish(event.Event{Type: event.ContainerWaiting, Reason: "no running container", Paths: work.Reasons})
		}
		return errNoContainer
	}
	w.mu.Lock()
	if w.waiting {
		w.log.Info("container running; applying kept changes", "container", containers[0].Name)
	}
	w.waiting = false
	w.mu.Unlock()

	if work.Build {
		if err := w.build(ctx, &work); err != nil {
			return err
		}
	}

	if work.Reconcile {
		restart, err := w.reconcile(ctx, containers)
		if err != nil {
			return err
		}
		work.Restart = work.Restart || restart
	}

	if len(work.Changes) > 0 {
		if err := w.sync(ctx, containers, work); err != nil {
			return err
		}
	}

	if len(work.Execs) > 0 {
		if err := w.exec(ctx, containers, work); err != nil {
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
		if !w.isFull(c.ID) {
			// A retry into a full container stays quiet until it succeeds.
			w.publish(event.Event{Type: event.SyncStarted, Container: c.Name, Paths: work.Reasons})
		}
		changes := w.usableChanges(ctx, c, work.Changes)
		if len(changes) == 0 {
			continue
		}
		res, err := filesync.Apply(ctx, w.files(ctx, c, treeRoots(changes)), c.ID, changes, w.owner(ctx, c), w.log)
		if err != nil && ctx.Err() != nil {
			// A reload or devd's stop cut the copy short. The work is kept,
			// and copying it again is harmless, so this is no failure.
			return ctx.Err()
		}
		if err != nil {
			// Ask the supervisor again next time: it may have restarted.
			w.forgetFiles(c.ID)
		}
		if errors.Is(err, filesync.ErrNoRemover) {
			// Retrying cannot give the image an rm: say so once, keep the rest.
			if w.reportOnce(c.ID+"\x00rm", "deletes are not possible in this container", c, err) {
				w.recordError(err)
			}
			err = nil
		}
		if err != nil {
			err = fmt.Errorf("syncing %d paths to %s: %w", len(work.Changes), c.Name, err)
			errs = append(errs, err)
			if !w.outOfSpace(c, err) {
				w.publish(event.Event{Type: event.SyncFailed, Container: c.Name, Error: err.Error()})
			}
			continue
		}
		w.spaceAgain(c)
		elapsed := time.Since(start)
		w.log.Info("synced", "container", c.Name, "copied", res.Copied, "deleted", res.Deleted,
			"bytes", res.Bytes, "duration", elapsed.Round(time.Millisecond))
		w.publish(event.Event{Type: event.SyncDone, Container: c.Name, Files: res.Copied + res.Deleted,
			Bytes: res.Bytes, DurationMS: elapsed.Milliseconds(), Paths: work.Reasons})
		w.state.mu.Lock()
		w.state.stats.lastSync = &syncStats{time: time.Now(), files: res.Copied + res.Deleted, bytes: res.Bytes, duration: elapsed}
		w.state.mu.Unlock()
	}
	return errors.Join(errs...)
}

func (w *worker) restart(ctx context.Context, containers []engine.Container, work plan.Work) error {
	mode := w.svc.Restart
	if mode.Kind == compose.RestartNone {
		return nil
	}

	if err := w.waitForDebugger(ctx); err != nil {
		return err
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
	// A swap under Delve keeps the debuggers' connections: closing them
	// is for restarts that end the debugging session anyway.
	if !w.swapsUnderDelve() {
		for _, hook := range hooks {
			hook()
		}
	}

	reason := reasonText(work)
	w.log.Info("restarting", "mode", restartModeFor(w.svc, containers[0]).String(), "reason", reason)
	w.publish(event.Event{Type: event.RestartStarted, Reason: reason, Paths: work.Reasons})
	start := time.Now()

	// A restart under way runs to its end when a reload or devd's stop
	// cancels ctx. Cut short, the engine may still have restarted or
	// signalled the container, and the work, kept for the next session,
	// would do it a second time.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.grace()+processRestartSlack)
	defer cancel()

	var errs []error
	for _, c := range containers {
		w.markRestart(c.ID, false)
		w.state.noteProcessRestart(c.ID, time.Now())
		err := w.restartContainer(rctx, c, restartModeFor(w.svc, c))
		w.markRestart(c.ID, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("restarting %s: %w", c.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		w.publish(event.Event{Type: event.RestartFailed, Reason: reason, Error: err.Error()})
		return err
	}

	elapsed := time.Since(start)
	ready := time.Duration(0)
	if !work.First.IsZero() {
		ready = time.Since(work.First)
	}
	w.log.Info("restarted", "duration", elapsed.Round(time.Millisecond), "since_change", ready.Round(time.Millisecond))
	w.publish(event.Event{Type: event.RestartReady, Reason: reason, DurationMS: ready.Milliseconds()})
	w.state.mu.Lock()
	w.state.stats.restartCount++
	w.state.stats.lastRestart = &restartStats{time: time.Now(), reason: reason, ready: ready}
	w.state.mu.Unlock()
	return nil
}

func (w *worker) recordError(err error) {
	w.state.mu.Lock()
	defer w.state.mu.Unlock()
	errs := append(w.state.stats.errors, err.Error())
	if len(errs) > maxKeptErrors {
		errs = errs[len(errs)-maxKeptErrors:]
	}
	w.state.stats.errors = errs
}

// publish sends an event about this service.
func (w *worker) publish(e event.Event) {
	if w.bus == nil {
		return
	}
	e.Service = w.svc.Name
	w.bus.Publish(e)
}

func reasonText(work plan.Work) string {
	if len(work.Reasons) == 0 {
		if work.Requested != "" {
			return work.Requested
		}
		return "requested"
	}
	text := strings.Join(work.Reasons, ", ") + " changed"
	if extra := work.PathCount - len(work.Reasons); extra > 0 {
		text = fmt.Sprintf("%s, and %d more", text, extra)
	}
	return text
}

// usableChanges leaves out the changes whose target the container's
// archive API cannot reach.
func (w *worker) usableChanges(ctx context.Context, c engine.Container, changes []filesync.Change) []filesync.Change {
	var out []filesync.Change
	for _, ch := range changes {
		if w.usableTree(ctx, c, ch.Tree) {
			out = append(out, ch)
		}
	}
	return out
}

// reportOnce logs a problem the first time it happens for a key and
// reports whether it did.
func (w *worker) reportOnce(key, msg string, c engine.Container, err error) bool {
	w.mu.Lock()
	if w.reported == nil {
		w.reported = make(map[string]bool)
	}
	first := !w.reported[key]
	w.reported[key] = true
	w.mu.Unlock()
	if first {
		w.log.Error(msg, "container", c.Name, "error", err)
	}
	return first
}
