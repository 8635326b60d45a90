package daemon

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
)

var _ control.Backend = (*Daemon)(nil)

// ErrUnknownService is returned by the control methods for a service that
// is not in the project.
var ErrUnknownService = control.ErrUnknownService

// Status returns a snapshot of every service of the project.
func (d *Daemon) Status() control.Status {
	project := d.currentProject()
	st := control.Status{
		Project:   project.Name,
		PID:       os.Getpid(),
		Version:   d.cfg.Version,
		Started:   d.started,
		Engine:    d.cfg.EngineHost,
		Dashboard: d.cfg.Dashboard,
		Process:   processStatus(),
	}
	s := d.session()

	for _, svc := range project.Services {
		ss := control.ServiceStatus{
			Name:        svc.Name,
			Watched:     svc.Watch,
			RestartMode: svc.Restart.String(),
			Containers:  []control.ContainerStatus{},
			Errors:      []string{},
			Debug:       []control.DebugStatus{},
		}
		state := d.state(svc.Name)
		state.mu.Lock()
		ss.Paused = state.paused
		stats := state.stats
		ss.Errors = append(ss.Errors, stats.errors...)
		state.mu.Unlock()

		ss.RestartCount = stats.restartCount
		if ls := stats.lastSync; ls != nil {
			ss.LastSync = &control.SyncStatus{Time: ls.time, Files: ls.files, Bytes: ls.bytes, DurationMS: ls.duration.Milliseconds()}
		}
		if lr := stats.lastRestart; lr != nil {
			ss.LastRestart = &control.RestartStatus{Time: lr.time, Reason: lr.reason, ReadyMS: lr.ready.Milliseconds()}
		}

		if s != nil {
			if running := s.reg.Running(svc.Name); len(running) > 0 {
				ss.RestartMode = restartModeFor(svc, running[0]).String()
			}
			for _, c := range s.reg.All(svc.Name) {
				ss.Containers = append(ss.Containers, control.ContainerStatus{Name: c.Name, ID: shortID(c.ID), State: c.State})
			}
			if w := s.workers[svc.Name]; w != nil {
				ss.PendingPaths = w.Pending().PathCount
			}
			for _, p := range s.proxies {
				if p.service != svc.Name {
					continue
				}
				n := p.proxy.Connections()
				sessions := p.proxy.Debuggers()
				if p.runtime != "node" && sessions == 0 {
					sessions = n
				}
				ss.Debug = append(ss.Debug, control.DebugStatus{Port: p.port, Address: p.addr, Runtime: p.runtime,
					Connections: n, Connected: sessions > 0, Debuggers: sessions, Paused: p.proxy.Paused()})
			}
		}
		st.Services = append(st.Services, ss)
	}
	sort.Slice(st.Services, func(i, j int) bool { return st.Services[i].Name < st.Services[j].Name })
	return st
}

// worker returns the current worker of a watched service.
func (d *Daemon) worker(service string) (*worker, error) {
	s := d.session()
	if s == nil {
		return nil, fmt.Errorf("devd is reloading its configuration; try again")
	}
	if w := s.workers[service]; w != nil {
		return w, nil
	}
	return nil, d.unknownService(service)
}

func (d *Daemon) unknownService(service string) error {
	project := d.currentProject()
	var names []string
	for _, svc := range project.Services {
		if svc.Name == service {
			return fmt.Errorf("service %q is not watched by devd: give it a bind mount, develop.watch or an x-devd section", service)
		}
		names = append(names, svc.Name)
	}
	return fmt.Errorf("%w %q; the project's services are %s", ErrUnknownService, service, strings.Join(names, ", "))
}

// Restart restarts a service now and returns once the restart is done.
func (d *Daemon) Restart(ctx context.Context, service string) error {
	w, err := d.worker(service)
	if err != nil {
		return err
	}
	if w.svc.Restart.Kind == compose.RestartNone {
		return fmt.Errorf("service %q has restart mode none; set x-devd.restart to restart it", service)
	}
	return wait(ctx, w, plan.Work{Service: service, Restart: true, Requested: "requested with devd restart"})
}

// Sync brings every synced folder of the service up to date with the host
// in each container, sending only what differs, restarts the service when
// that changed something its rules restart for, and returns once that is
// done.
func (d *Daemon) Sync(ctx context.Context, service string) error {
	w, err := d.worker(service)
	if err != nil {
		return err
	}
	synced := false
	for _, r := range w.rules {
		if r.Tree != nil {
			synced = true
		}
	}
	if !synced {
		return fmt.Errorf("service %q has no synced folder: its files reach the container through bind mounts", service)
	}
	return wait(ctx, w, plan.Work{Service: service, Reconcile: true, Requested: "requested with devd sync"})
}

// wait queues work asked for through the control API and waits until it is
// applied. A paused service applies nothing until it is resumed, so the
// request is rejected at once rather than left waiting.
func wait(ctx context.Context, w *worker, work plan.Work) error {
	if w.Paused() {
		return fmt.Errorf("service %q is %w: its changes are kept until devd resume; run 'devd resume %s' first", w.svc.Name, control.ErrPaused, w.svc.Name)
	}
	done := make(chan error, 1)
	w.addWaiting(work, done)
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pause stops applying changes to a service, or to all services when
// service is "". Changes are kept and applied on Resume.
func (d *Daemon) Pause(service string) error {
	return d.setPaused(service, true)
}

// Resume applies the changes kept while paused.
func (d *Daemon) Resume(service string) error {
	return d.setPaused(service, false)
}

func (d *Daemon) setPaused(service string, paused bool) error {
	project := d.currentProject()
	var names []string
	for _, svc := range project.Services {
		if svc.Watch && (service == "" || svc.Name == service) {
			names = append(names, svc.Name)
		}
	}
	if len(names) == 0 {
		if service == "" {
			return fmt.Errorf("no service is watched")
		}
		return d.unknownService(service)
	}

	typ := event.Resumed
	if paused {
		typ = event.Paused
	}
	s := d.session()
	for _, name := range names {
		st := d.state(name)
		st.mu.Lock()
		st.paused = paused
		st.mu.Unlock()
		if s != nil {
			if w := s.workers[name]; w != nil {
				w.poke()
			}
		}
		d.bus.Publish(event.Event{Type: typ, Service: name})
	}
	return nil
}
