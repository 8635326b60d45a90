package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/up"
	"github.com/devdtool/devd/watch"
	"github.com/hashicorp/go-hclog"
)

// session supervises one loaded version of the Compose project. A change to
// a Compose or env file ends the session with the reloaded project, and the
// daemon starts a new one; work not applied yet is carried over.
type session struct {
	d       *Daemon
	cfg     *Config
	project *compose.Project
	rules   []plan.ServiceRules
	eng     Engine
	log     hclog.Logger

	workers map[string]*worker // fixed after start; keyed by service name
	reg     *registry
	proxies []proxyInfo // fixed after start
	output  *outputFollower
	ctx     context.Context // the session's context, for work started by callbacks

	// held are the restarts, builds and commands of batches that came
	// while events kept coming, by service; their copies went ahead. Used
	// by run's goroutine only.
	held map[string]*heldWork
}

// heldWork is work held back until the events settle.
type heldWork struct {
	work  plan.Work
	since time.Time
}

// maxHold bounds how long a restart waits for the events to settle, so
// that a tool writing without pause does not hold back a save's restart.
const maxHold = 2 * time.Second

// errStopped ends a session when the daemon shuts down.
var errStopped = errors.New("stopped")

func newSession(d *Daemon, project *compose.Project) (*session, error) {
	rules, err := plan.Compile(project.Services)
	if err != nil {
		return nil, err
	}
	s := &session{d: d, cfg: &d.cfg, project: project, rules: rules, eng: d.eng, log: d.log, workers: make(map[string]*worker)}
	s.reg = newRegistry(s.eng, project.Name, d.log.Named("containers"), s.containersChanged, d.bus)
	for _, sr := range rules {
		name := sr.Service.Name
		w := newWorker(sr.Service, sr.Rules, s.eng, s.reg, d.log.Named(name).With("service", name), d.bus, d.state(name))
		w.session = s
		s.workers[name] = w
	}
	return s, nil
}

// run supervises until ctx ends or a configuration file changes. It
// returns the reloaded project in the second case, and the work that was
// not applied yet in both.
func (s *session) run(ctx context.Context, carried []plan.Work) (*compose.Project, []plan.Work, error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	s.ctx = ctx
	s.output = newOutputFollower(s.eng, s.d.bus, s.log.Named("output"))
	if !s.d.outputFrom.IsZero() {
		// Output written while the configuration reloaded is shown too.
		s.output.started = s.d.outputFrom
	}
	defer func() {
		s.d.outputFrom = time.Now()
		cancel()
		wg.Wait()
		s.output.wait()
	}()

	proxies, err := startProxies(ctx, s.project.Services, s.workers, s.reg, s.eng, s.log, s.d.bus)
	if err != nil {
		return nil, nil, err
	}
	s.proxies = proxies
	defer func() {
		for _, p := range proxies {
			_ = p.proxy.Close()
		}
	}()

	configFiles := s.configFiles()
	var watchers []*watch.Watcher
	for interval, roots := range s.rootsByPoll(configFiles) {
		w, err := watch.New(watch.Config{
			Roots:  roots,
			Skip:   plan.SkipWatch(s.rules, configFiles),
			Logger: s.log.Named("watch"),
			Poll:   interval,
		})
		if err != nil {
			for _, started := range watchers {
				_ = started.Close()
			}
			return nil, nil, err
		}
		watchers = append(watchers, w)
	}

	wg.Add(1)
	go func() {
		defer wg.Done()
		s.reg.run(ctx)
	}()
	for _, w := range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	for _, work := range carried {
		if w := s.workers[work.Service]; w != nil {
			w.add(work)
		}
	}

	watchErr := make(chan error, len(watchers))
	changed := make(chan string)
	var watching sync.WaitGroup
	for _, w := range watchers {
		wg.Add(2)
		watching.Add(1)
		go func() {
			defer wg.Done()
			watchErr <- w.Run(ctx)
		}()
		go func() {
			defer wg.Done()
			defer watching.Done()
			for p := range w.Events() {
				select {
				case changed <- p:
				case <-ctx.Done():
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		watching.Wait()
		close(changed)
	}()

	batches := make(chan watch.Batch)
	wg.Add(1)
	go func() {
		defer wg.Done()
		watch.NewBatcher(s.cfg.Quiet, s.cfg.MaxWait, watch.RealClock).Run(ctx, changed, batches)
	}()

	s.logWatching(ctx)

	for {
		select {
		case <-ctx.Done():
			return nil, s.pending(), errStopped
		case err := <-watchErr:
			if err != nil && ctx.Err() == nil {
				return nil, s.pending(), err
			}
		case batch, ok := <-batches:
			if !ok {
				return nil, s.pending(), errStopped
			}
			reloaded := s.handle(ctx, batch, configFiles)
			if reloaded != nil {
				cancel()
				wg.Wait()
				return reloaded, s.pending(), nil
			}
		}
	}
}

// handle dispatches a batch to the workers. When the batch touches a
// configuration file it reloads the project, and returns it when the new
// configuration is valid; the old rules stay in force otherwise.
func (s *session) handle(ctx context.Context, batch watch.Batch, configFiles []string) *compose.Project {
	s.log.Debug("batch", "path_count", len(batch.Paths), "waited", time.Since(batch.First).Round(time.Millisecond))

	var changedConfig []string
	for _, p := range batch.Paths {
		for _, c := range configFiles {
			if p == c {
				changedConfig = append(changedConfig, p)
			}
		}
	}

	for _, work := range plan.Make(batch.Paths, s.rules, s.project.WorkingDir, batch.First) {
		if !batch.Settled {
			// Events keep coming, as in a git checkout: copy now, and
			// restart once, when they stop.
			copies, actions := work.Split()
			if !actions.Empty() {
				s.hold(actions, batch.First)
				work = copies
			}
		}
		if work.Empty() {
			continue
		}
		s.log.Debug("work", "service", work.Service, "path_count", work.PathCount, "change_count", len(work.Changes), "restart", work.Restart)
		s.workers[work.Service].add(work)
	}
	s.releaseHeld(batch.Settled)

	if len(changedConfig) == 0 {
		return nil
	}
	s.log.Info("configuration changed; reloading", "files", changedConfig)
	project, err := compose.Load(ctx, s.cfg.Compose, s.log.Named("compose"))
	if err == nil {
		// An invalid ignore pattern shows only when the rules compile.
		_, err = plan.Compile(project.Services)
	}
	if err != nil {
		s.log.Error("invalid configuration; keeping the previous rules until it is fixed", "error", err)
		s.d.bus.Publish(event.Event{Type: event.ConfigInvalid, Error: err.Error()})
		return nil
	}
	return project
}

// containersChanged wakes the workers of the service whose containers
// changed, or of every service after the registry listed the containers
// anew. A container that started, other than by a restart devd made, and
// a fresh listing (devd started, or the engine is back) get their synced
// folders reconciled with the host.
func (s *session) containersChanged(ev *engine.Event) {
	for name, w := range s.workers {
		if ev != nil && ev.Service != name {
			continue
		}
		switch {
		case ev == nil:
			w.adoptCrashed()
			w.add(plan.Work{Service: name, Reconcile: true, Requested: "devd compared the containers with the host"})
		case ev.Action == "start" && !w.ownRestart(ev.ContainerID, ev.Time):
			w.add(plan.Work{Service: name, Reconcile: true, Requested: "a container started"})
		case ev.Action == "die":
			if c, ok := s.reg.Container(ev.ContainerID); ok {
				w.handleExit(s.ctx, c, s.reg.KilledAt(ev.ContainerID), ev.Time)
			}
		}
		w.poke()
		if s.output != nil {
			for _, c := range s.reg.Running(name) {
				s.output.ensure(s.ctx, c)
			}
		}
	}
}

// hold keeps actions until the events settle.
func (s *session) hold(actions plan.Work, first time.Time) {
	if s.held == nil {
		s.held = make(map[string]*heldWork)
	}
	h, ok := s.held[actions.Service]
	if !ok {
		h = &heldWork{work: plan.Work{Service: actions.Service}, since: time.Now()}
		if !first.IsZero() {
			h.since = first
		}
		s.held[actions.Service] = h
	}
	h.work.Merge(actions)
}

// releaseHeld hands the held work to the workers: all of it once the events
// settled, and otherwise what has waited for maxHold.
func (s *session) releaseHeld(settled bool) {
	for name, h := range s.held {
		if !settled && time.Since(h.since) < maxHold {
			continue
		}
		delete(s.held, name)
		s.log.Debug("work", "service", name, "path_count", h.work.PathCount, "restart", h.work.Restart, "held_for", time.Since(h.since).Round(time.Millisecond))
		s.workers[name].add(h.work)
	}
}

func (s *session) pending() []plan.Work {
	var out []plan.Work
	for _, w := range s.workers {
		// A fresh Work, so that merging shares nothing with the worker's.
		p := plan.Work{Service: w.svc.Name}
		p.Merge(w.Pending())
		if h := s.held[w.svc.Name]; h != nil {
			p.Merge(h.work)
		}
		if !p.Empty() {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out
}

// configFiles returns the files whose change reloads the project: the
// Compose and env files that were read, the ones that would be read if
// they appeared (an override file or a .env created while devd runs), and
// the .dockerignore files that the rules use.
func (s *session) configFiles() []string {
	set := make(map[string]bool)
	for _, f := range s.project.ConfigFiles {
		set[f] = true
	}
	for _, f := range s.project.EnvFiles {
		set[f] = true
	}
	if len(s.cfg.Compose.EnvFiles) == 0 {
		set[filepath.Join(s.project.WorkingDir, ".env")] = true
	}
	if len(s.cfg.Compose.Files) == 0 && os.Getenv("COMPOSE_FILE") == "" && len(s.project.ConfigFiles) > 0 {
		dir := filepath.Dir(s.project.ConfigFiles[0])
		for _, name := range []string{"compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml", "docker-compose.override.yml"} {
			set[filepath.Join(dir, name)] = true
		}
	}
	for _, svc := range s.project.Services {
		if svc.Watch && svc.Gitignore {
			for _, t := range svc.Triggers {
				set[filepath.Join(t.Path, ".gitignore")] = true
			}
		}
		if svc.Watch && svc.BuildContext != "" {
			// NOTE: a <Dockerfile>.dockerignore created while devd runs is
			// picked up only at the next reload.
			set[filepath.Join(svc.BuildContext, ".dockerignore")] = true
		}
	}
	var files []string
	for f := range set {
		files = append(files, f)
	}
	sort.Strings(files)
	return files
}

// rootsByPoll returns the folders and files to watch, every trigger path
// and the configuration files, grouped by polling interval: 0 for native
// file events, and x-devd.poll for the services that set it.
func (s *session) rootsByPoll(configFiles []string) map[time.Duration][]string {
	sets := map[time.Duration]map[string]bool{0: {}}
	for _, sr := range s.rules {
		interval := sr.Service.Poll
		if interval == 0 {
			interval = s.cfg.Poll
		}
		if sets[interval] == nil {
			sets[interval] = make(map[string]bool)
		}
		for _, r := range sr.Rules {
			sets[interval][r.Trigger.Path] = true
		}
	}
	for _, c := range configFiles {
		sets[0][c] = true
	}
	groups := make(map[time.Duration][]string, len(sets))
	for interval, set := range sets {
		for p := range set {
			groups[interval] = append(groups[interval], p)
		}
		sort.Strings(groups[interval])
	}
	return groups
}

// describeTrigger returns, in words, what a change under a trigger does
// when the service restarts in the given mode.
func describeTrigger(rel string, t compose.Trigger, svc compose.Service, mode compose.RestartMode) string {
	var effects []string
	switch {
	case t.Action.Builds() && svc.Build != nil:
		effects = append(effects, "build on the host with `"+up.CommandText(svc.Build.Command)+"`", "copy the output to "+svc.Build.Target)
	case t.Action.Builds():
		effects = append(effects, "build on the host")
	case t.Action.Rebuilds():
		effects = append(effects, "rebuild the image with docker compose and recreate the containers")
	case t.BindMounted && t.Target != "":
		effects = append(effects, "bind-mounted at "+t.Target)
	case t.Action.Syncs() && t.Target != "":
		effects = append(effects, "sync to "+t.Target)
	}
	if t.Exec != nil {
		effects = append(effects, "then run "+t.Exec.Summary())
	}
	if t.Action.Restarts() || t.Action.Builds() {
		effects = append(effects, restartWords(mode))
	}
	if len(effects) == 0 {
		effects = append(effects, string(t.Action))
	}
	return rel + ": " + strings.Join(effects, ", ")
}

// restartWords returns the words for what a restart does in the given mode.
func restartWords(mode compose.RestartMode) string {
	switch mode.Kind {
	case compose.RestartProcess:
		return "restart the process"
	case compose.RestartSignal:
		return "send " + mode.Signal
	case compose.RestartNone:
		return "no restart, as x-devd.restart is none"
	default:
		return "restart the container"
	}
}

// restartModeTimeout bounds the container listing that logWatching makes
// to name the restart mode in force.
const restartModeTimeout = 2 * time.Second

func (s *session) logWatching(ctx context.Context) {
	// With no mode configured, the mode depends on whether devd's supervisor
	// runs in the container, as under devd up.
	var containers []engine.Container
	listCtx, cancel := context.WithTimeout(ctx, restartModeTimeout)
	list, err := s.eng.ProjectContainers(listCtx, s.project.Name)
	cancel()
	listed := err == nil
	if listed {
		containers = list
	} else {
		s.log.Debug("listing containers to name the restart mode failed", "error", err)
	}

	for _, svc := range s.project.Services {
		if !svc.Watch {
			s.log.Debug("service not watched", "service", svc.Name)
			continue
		}
		for _, note := range svc.Unsupported {
			s.log.Warn(note, "service", svc.Name)
		}
		mode := restartModeOf(svc, containers)
		if listed && svc.Restart.Kind == compose.RestartProcess && !anySupervised(svc.Name, containers) {
			// A process restart needs the supervisor that devd up puts in
			// the containers. Without it, restartModeFor falls back to a
			// container restart.
			mode = compose.RestartMode{Kind: compose.RestartContainer}
			if s.d.firstProcessWarning(svc.Name) {
				s.log.Warn("x-devd.restart is process, but no container of the service runs devd's supervisor: "+
					"process restarts need devd up (and no x-devd.supervise: false); plain devd restarts the container instead",
					"service", svc.Name)
			}
		}
		for _, t := range svc.Triggers {
			rel, err := filepath.Rel(s.project.WorkingDir, t.Path)
			if err != nil {
				rel = t.Path
			}
			kv := []interface{}{"service", svc.Name, "path", rel, "action", string(t.Action), "restart", mode.String()}
			if t.Target != "" {
				kv = append(kv, "target", t.Target)
			}
			if t.BindMounted {
				kv = append(kv, "bind_mounted", true)
			}
			s.log.Info("watching", kv...)
			s.d.bus.Publish(event.Event{Type: event.Watching, Service: svc.Name, Reason: describeTrigger(rel, t, svc, mode)})
		}
	}
}
