package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/delve"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/supervisor"
	"github.com/devdtool/devd/up"
)

// supervisorLabel marks containers that devd up started with devd's
// supervisor in front of the service command.
const supervisorLabel = "dev.devd.supervisor"

// processRestartSlack is added to the service's stop grace period to bound
// a process restart: the supervisor waits for the old process, the ports
// and readiness within it.
const processRestartSlack = 30 * time.Second

// supervised reports whether devd's supervisor runs in the container.
func supervised(c engine.Container) bool {
	return c.Labels[supervisorLabel] == "1"
}

// anySupervised reports whether devd's supervisor runs in any of the
// service's containers among containers, running or not.
func anySupervised(service string, containers []engine.Container) bool {
	for _, c := range containers {
		if c.Service == service && supervised(c) {
			return true
		}
	}
	return false
}

// restartModeFor returns the restart mode in force for a container: the
// configured one, or, when none is configured, a process restart where
// devd's supervisor runs and a container restart elsewhere. A process
// restart asked for a container without the supervisor falls back to a
// container restart.
func restartModeFor(svc compose.Service, c engine.Container) compose.RestartMode {
	mode := svc.Restart
	switch {
	case !svc.RestartSet && supervised(c):
		return compose.RestartMode{Kind: compose.RestartProcess}
	case mode.Kind == compose.RestartProcess && !supervised(c):
		return compose.RestartMode{Kind: compose.RestartContainer}
	}
	return mode
}

// restartModeOf returns the restart mode in force for the service's first
// running container among containers, or the configured mode when none runs.
func restartModeOf(svc compose.Service, containers []engine.Container) compose.RestartMode {
	for _, c := range containers {
		if c.Service == svc.Name && c.Running {
			return restartModeFor(svc, c)
		}
	}
	return svc.Restart
}

// restartContainer restarts one container in the given mode. A Go service
// under a Delve server that serves several clients is swapped through
// Delve instead, so the server and every debugger stay connected.
func (w *worker) restartContainer(ctx context.Context, c engine.Container, mode compose.RestartMode) error {
	if mode.Kind != compose.RestartNone && mode.Kind != compose.RestartSignal {
		swapped, err := w.swapUnderDelve(ctx, c)
		if swapped {
			return nil
		}
		if err != nil {
			w.log.Warn("swapping the program through Delve failed; restarting instead", "container", c.Name, "error", err)
		}
	}
	switch mode.Kind {
	case compose.RestartSignal:
		return w.eng.SignalContainer(ctx, c.ID, mode.Signal)
	case compose.RestartProcess:
		err := w.restartProcess(ctx, c)
		if err != nil {
			// The supervisor cannot respond when its container has stopped
			// meanwhile: start the container instead.
			if now, ierr := w.eng.InspectContainer(ctx, c.ID); ierr == nil && !now.Running {
				return w.eng.RestartContainer(ctx, c.ID, w.svc.StopGracePeriod)
			}
		}
		return err
	default:
		return w.eng.RestartContainer(ctx, c.ID, w.svc.StopGracePeriod)
	}
}

// restartProcess requests from devd's supervisor in the container to restart the
// service command: through its socket in the host's control folder, which
// costs about a millisecond, or through an exec of the supervisor's client
// in the container when the socket cannot be reached (Docker Desktop).
func (w *worker) restartProcess(ctx context.Context, c engine.Container) error {
	ctx, cancel := context.WithTimeout(ctx, w.grace()+processRestartSlack)
	defer cancel()

	res, err := w.restartThroughSocket(ctx, c)
	if err != nil {
		w.log.Debug("supervisor socket unreachable; asking through the engine", "container", c.Name, "error", err)
		res, err = w.restartThroughExec(ctx, c)
	}
	if err != nil {
		return err
	}
	for _, warning := range res.Warnings {
		w.log.Warn("supervisor warning", "container", c.Name, "warning", warning)
	}
	if !res.Ready {
		w.log.Warn("restarted process is not ready yet", "container", c.Name, "ready_check", w.svc.Ready)
	}
	w.log.Debug("process restarted", "container", c.Name, "pid", res.PID, "stop_ms", res.StopMS,
		"start_ms", res.StartMS, "ready_ms", res.ReadyMS)
	return nil
}

func (w *worker) restartThroughSocket(ctx context.Context, c engine.Container) (supervisor.RestartResult, error) {
	socket, err := supervisorSocket(c)
	if err != nil {
		return supervisor.RestartResult{}, err
	}
	return supervisor.NewSocketClient(socket).Restart(ctx)
}

// grace returns how long a stop of the service may take: its
// stop_grace_period, or the supervisor's default when it has none.
func (w *worker) grace() time.Duration {
	if w.svc.StopGracePeriod > 0 {
		return w.svc.StopGracePeriod
	}
	return supervisor.DefaultGrace
}

// supervisorSocket returns the host path of the control socket of the
// supervisor in a container.
func supervisorSocket(c engine.Container) (string, error) {
	if len(c.ID) < 12 {
		return "", fmt.Errorf("container id %q is too short", c.ID)
	}
	dir, err := up.RunDir(c.Project, c.Service)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, c.ID[:12]+".sock"), nil
}

func (w *worker) restartThroughExec(ctx context.Context, c engine.Container) (supervisor.RestartResult, error) {
	var res supervisor.RestartResult
	out, err := w.eng.Exec(ctx, c.ID, supervisor.ExecArgs("restart"), engine.ExecOptions{})
	if err != nil {
		return res, fmt.Errorf("asking the supervisor to restart: %w", err)
	}
	if out.ExitCode != 0 {
		return res, fmt.Errorf("the supervisor's restart failed with exit code %d: %s", out.ExitCode, strings.TrimSpace(string(out.Output)))
	}
	if err := json.Unmarshal(out.Output, &res); err != nil {
		return res, fmt.Errorf("reading the supervisor's answer %q: %w", strings.TrimSpace(string(out.Output)), err)
	}
	return res, nil
}

// debuggerPollInterval is how often devd looks whether a paused program
// runs again, under x-devd.debug_wait.
const debuggerPollInterval = 100 * time.Millisecond

// waitForDebugger handles a restart while a debugger holds the program at
// a breakpoint: by default the restart goes ahead, after a log line that
// says the debugging session ends; with x-devd.debug_wait it waits until
// the program runs again. Closing the debugger's connection would resume
// the program, so the wait comes before anything is closed.
func (w *worker) waitForDebugger(ctx context.Context) error {
	if !w.debuggerPaused() {
		return nil
	}
	if !w.svc.DebugWait {
		if w.swapsUnderDelve() {
			w.log.Warn("swapping the program while a debugger holds it at a breakpoint in Delve; the debugger stays attached to the new one")
		} else {
			w.log.Warn("replacing the process while a debugger holds it at a breakpoint; the debugger reattaches to the new one")
		}
		return nil
	}
	w.log.Info("the program is paused at a breakpoint: waiting for the debugger to resume it before restarting (x-devd.debug_wait)")
	w.publish(event.Event{Type: event.RestartStarted, Reason: "waiting for the debugger to resume the program"})
	ticker := time.NewTicker(debuggerPollInterval)
	defer ticker.Stop()
	for w.debuggerPaused() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
	return nil
}

// swapUnderDelve replaces the program of a Go service that runs under
// `dlv exec --headless --accept-multiclient`: Delve halts it, starts the
// binary at the same path again (the sync put the new one there) and lets
// it run, keeping its breakpoints and its clients. devd connects only when
// the command line shows a server that accepts several clients: a
// single-client server gives its only connection to the first comer and
// exits when it closes.
func (w *worker) swapUnderDelve(ctx context.Context, c engine.Container) (bool, error) {
	port := w.delvePort()
	if port == 0 {
		return false, nil
	}
	addr, err := containerAddress(c, port, w.eng)
	if err != nil {
		return false, err
	}
	res, err := delve.SwapDetailed(ctx, addr)
	if err != nil {
		return false, err
	}
	w.log.Info("swapped the program through Delve; debuggers stay attached", "container", c.Name,
		"duration", res.Duration.Round(time.Millisecond))
	if res.OtherClientRuns {
		w.log.Info("an IDE controls the program: it shows the new program paused; continue it there", "container", c.Name)
	} else {
		w.resumed()
	}
	if len(res.Discarded) > 0 {
		w.log.Warn("breakpoints that Delve could not set again in the new program", "container", c.Name, "breakpoints", res.Discarded)
	}
	return true, nil
}

// delvePort returns the Delve port of a service whose command runs its
// program under a multi-client Delve server, or 0.
func (w *worker) delvePort() int {
	if !delve.CanSwap(w.svc.Command) {
		return 0
	}
	for _, d := range w.svc.Debug {
		if d.Runtime == "go" {
			return d.Port
		}
	}
	return 0
}

// swapsUnderDelve reports whether the service's restarts are swaps
// through Delve.
func (w *worker) swapsUnderDelve() bool {
	return w.delvePort() != 0
}
