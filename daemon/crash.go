package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/devdtool/devd/delve"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
)

// A service whose process exits on its own is started again with growing
// delays, so a service that fails at every start is not restarted in a
// tight loop; a file change tries again at once.
const (
	crashMinDelay = time.Second
	crashMaxDelay = 30 * time.Second
	// crashStable is how long a service must run before its next exit
	// counts as a first one again.
	crashStable = 30 * time.Second
	// crashJitter spreads restarts of several services by up to this
	// fraction of the delay.
	crashJitter = 0.2
	// userStopWindow is how soon after a kill event an exit counts as a
	// stop someone asked for (docker stop, docker kill).
	userStopWindow = 15 * time.Second
	// adviceLogTimeout bounds reading an exited container's output.
	adviceLogTimeout = 5 * time.Second
	// adviceLogMargin reaches back before a container's StartedAt when its
	// output is read. The engine records StartedAt after the process has
	// started, so a dlv that fails at once can write its lines before it.
	adviceLogMargin = time.Second
	// adviceLogReads and adviceLogDelay bound how often, and how far apart,
	// an exited dlv's output is read while its last lines may be missing.
	adviceLogReads = 8
	adviceLogDelay = 150 * time.Millisecond
	// maxAdviceOutput caps the output read to explain a failed dlv.
	maxAdviceOutput = 64 << 10
)

// crashState is the backoff of one service's crash restarts.
type crashState struct {
	delay    time.Duration // next delay; zero before the first crash
	lastExit time.Time
	timer    *time.Timer
	crashed  map[string]bool // container ids that exited on their own
}

// handleExit is called when one of the service's containers died. Exits
// that devd or a person caused (a restart, docker stop or kill) are left
// alone; an exit on its own is reported and, unless the container has a
// restart policy of its own, the container is started again after a delay.
func (w *worker) handleExit(ctx context.Context, c engine.Container, killedAt time.Time, at time.Time) {
	if w.restartingNow(c.ID, at) {
		return
	}
	// A kill before the container's last start belonged to an earlier run,
	// such as the stop of a restart.
	if !killedAt.IsZero() && killedAt.After(c.StartedAt) && at.Sub(killedAt) < userStopWindow {
		w.log.Info("container stopped; changes are kept until it starts again", "container", c.Name)
		return
	}

	reason := fmt.Sprintf("exit code %d", c.ExitCode)
	if c.OOMKilled {
		reason = "killed for using too much memory"
	}
	w.publish(event.Event{Type: event.ServiceExited, Container: c.Name, Reason: reason})

	if advice := w.debuggerAdvice(ctx, c); advice != "" {
		// Starting it again would fail the same way: say once what to
		// change and wait for the next change instead.
		if w.reportOnce(c.ID+"\x00dlv", "the debugger cannot run the program: "+advice, c, fmt.Errorf("exit code %d", c.ExitCode)) {
			w.publish(event.Event{Type: event.ServiceExited, Container: c.Name, Reason: advice})
		}
		return
	}

	if c.RestartPolicy != "" && c.RestartPolicy != "no" {
		w.log.Warn("service exited on its own; its restart policy starts it again", "container", c.Name,
			"exit_code", c.ExitCode, "restart_policy", c.RestartPolicy)
		return
	}

	w.mu.Lock()
	cs := &w.crash
	if cs.crashed == nil {
		cs.crashed = make(map[string]bool)
	}
	cs.crashed[c.ID] = true
	if cs.delay == 0 || time.Since(cs.lastExit) > crashStable {
		cs.delay = crashMinDelay
	} else {
		cs.delay *= 2
		if cs.delay > crashMaxDelay {
			cs.delay = crashMaxDelay
		}
	}
	cs.lastExit = time.Now()
	delay := jitter(cs.delay)
	if cs.timer != nil {
		cs.timer.Stop()
	}
	cs.timer = time.AfterFunc(delay, func() {
		if ctx.Err() == nil {
			w.add(plan.Work{Service: w.svc.Name, Restart: true, Requested: "the process exited; starting it again"})
		}
	})
	w.mu.Unlock()

	w.log.Warn("service exited on its own; starting it again after a delay, or at the next change",
		"container", c.Name, "exit_code", c.ExitCode, "retry_in", delay.Round(time.Millisecond))
}

// debuggerAdvice reads the output of a service that runs under dlv and
// exited, and returns what the user must change for dlv to run, or "".
func (w *worker) debuggerAdvice(ctx context.Context, c engine.Container) string {
	underDlv := false
	for _, d := range w.svc.Debug {
		if d.Runtime == "go" {
			underDlv = true
		}
	}
	if !underDlv {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, adviceLogTimeout)
	defer cancel()
	// The engine copies a container's output to its log asynchronously, so
	// the last lines of a process that failed at once may not be there yet
	// when the exit is seen: read again a few times before giving up.
	for attempt := 0; ; attempt++ {
		var out strings.Builder
		_ = w.eng.FollowLogs(ctx, c.ID, c.StartedAt.Add(-adviceLogMargin), func(_ string, line []byte) {
			if out.Len() < maxAdviceOutput {
				out.Write(line)
				out.WriteByte('\n')
			}
		})
		advice := delve.Advice(out.String(), c.ExitCode)
		if advice != "" || attempt == adviceLogReads-1 || ctx.Err() != nil {
			if advice == "" {
				w.log.Debug("no known dlv failure in the exited container's output", "container", c.Name,
					"output_bytes", out.Len(), "reads", attempt+1, "started_at", c.StartedAt)
			}
			return advice
		}
		select {
		case <-ctx.Done():
			return ""
		case <-time.After(adviceLogDelay):
		}
	}
}

func jitter(d time.Duration) time.Duration {
	spread := float64(d) * crashJitter
	return d + time.Duration((rand.Float64()*2-1)*spread)
}

// adoptCrashed marks the service's containers that exited with a failure
// before devd followed them, as when the command fails while devd up starts
// the stack. The next change then starts them again, as after a crash devd
// saw. An exit from a signal that stops containers (docker stop, docker
// kill, Ctrl-C) does not count.
func (w *worker) adoptCrashed() {
	for _, c := range w.reg.All(w.svc.Name) {
		if c.Running || c.State != "exited" || (c.RestartPolicy != "" && c.RestartPolicy != "no") {
			continue
		}
		if !c.OOMKilled && (c.ExitCode == 0 || c.ExitCode == 130 || c.ExitCode == 137 || c.ExitCode == 143) {
			continue
		}
		w.mu.Lock()
		if w.crash.crashed == nil {
			w.crash.crashed = make(map[string]bool)
		}
		known := w.crash.crashed[c.ID]
		w.crash.crashed[c.ID] = true
		w.mu.Unlock()
		if !known {
			w.log.Warn("service had exited on its own before devd watched it; the next change starts it again",
				"container", c.Name, "exit_code", c.ExitCode)
		}
	}
}

// crashedContainers returns the service's containers that exited on their
// own and have not run since.
func (w *worker) crashedContainers() []engine.Container {
	w.mu.Lock()
	crashed := make(map[string]bool, len(w.crash.crashed))
	for id := range w.crash.crashed {
		crashed[id] = true
	}
	w.mu.Unlock()

	var out []engine.Container
	for _, c := range w.reg.All(w.svc.Name) {
		if crashed[c.ID] && !c.Running {
			out = append(out, c)
		}
	}
	return out
}

// NOTE: a change that only deletes (the fix for a crash is often removing
// a file) reaches the container after it starts, because deletes need a
// running container; a program that crashes at once may not give it that
// chance, and then only the next change or the backoff starts it again.

// revive starts containers that exited on their own, for work that
// arrived while they were down: their synced files are copied first (the
// archive API works on stopped containers), then they start. Deletes need
// a running container, so the changes go back to the queue and are
// applied once the container runs.
func (w *worker) revive(ctx context.Context, crashed []engine.Container, work plan.Work) error {
	w.mu.Lock()
	if w.crash.timer != nil {
		w.crash.timer.Stop()
	}
	w.mu.Unlock()

	var errs []error
	for _, c := range crashed {
		if changes := w.usableChanges(ctx, c, work.Changes); len(changes) > 0 {
			_, err := filesync.Apply(ctx, w.eng, c.ID, changes, w.owner(ctx, c), w.log)
			if err != nil && !errors.Is(err, filesync.ErrNeedsRunning) {
				errs = append(errs, fmt.Errorf("syncing into stopped %s: %w", c.Name, err))
			}
		}
		w.markRestart(c.ID, false)
		err := w.eng.RestartContainer(ctx, c.ID, w.svc.StopGracePeriod)
		w.markRestart(c.ID, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("starting %s: %w", c.Name, err))
			continue
		}
		w.mu.Lock()
		delete(w.crash.crashed, c.ID)
		w.mu.Unlock()
		w.log.Info("started the service again", "container", c.Name, "reason", reasonText(work))
		w.publish(event.Event{Type: event.RestartReady, Container: c.Name, Reason: reasonText(work)})
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if len(work.Changes) > 0 {
		// Apply the changes again once the container runs: copies are
		// idempotent, and deletes need the running container.
		w.add(plan.Work{Service: w.svc.Name, Changes: work.Changes, PathCount: work.PathCount, Reasons: work.Reasons, Revived: true})
	}
	return nil
}
