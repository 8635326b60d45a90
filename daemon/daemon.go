// Package daemon wires devd's stages together: it loads the Compose
// project, follows the project's containers, watches the host folders,
// turns batches of changes into per-service work, applies it, and keeps the
// debug proxies pointed at the current containers.
package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/watch"
	"github.com/hashicorp/go-hclog"
)

// ErrInvalidConfig wraps errors in devd's settings that stop it from
// starting, such as a debug listen address that is taken.
var ErrInvalidConfig = errors.New("invalid configuration")

// eventHistory is how many events the daemon keeps for late subscribers.
const eventHistory = 1000

// Config configures a daemon. The zero value of a duration means its
// default.
type Config struct {
	// Compose selects the Compose project.
	Compose compose.Options
	// Quiet is the quiet period of the change batcher.
	Quiet time.Duration
	// MaxWait caps how long a batch waits while changes keep coming.
	MaxWait time.Duration
	// Logger is the root logger; nil discards output.
	Logger hclog.Logger
	// Version is devd's version, reported in the status.
	Version string
	// EngineHost is the engine address, reported in the status.
	EngineHost string
	// Dashboard is the dashboard's URL, reported in the status; empty
	// when it is off.
	Dashboard string
	// Poll scans the watched folders of services without x-devd.poll at
	// this interval instead of waiting for file system events; 0 means
	// events.
	Poll time.Duration
}

// Daemon supervises one Compose project. Its methods other than Run are
// safe for concurrent use and serve the control API.
type Daemon struct {
	cfg     Config
	eng     Engine
	log     hclog.Logger
	bus     *event.Bus
	started time.Time

	mu      sync.Mutex
	project *compose.Project         // guarded by mu; the rules in force
	sess    *session                 // guarded by mu; nil between sessions
	states  map[string]*serviceState // guarded by mu; keyed by service name

	// processWarned contains the services already warned that their process
	// restarts fall back to container restarts; guarded by mu.
	processWarned map[string]bool

	// outputFrom is when the last session stopped following the
	// containers' output, so the next one goes on from there; zero before
	// the first session ends. Used by Run's goroutine only.
	outputFrom time.Time
}

// New returns a daemon for a loaded project. The project must already be
// loaded and the engine reachable: errors that stop devd from starting are
// reported before any container is touched.
func New(cfg Config, project *compose.Project, eng Engine) *Daemon {
	if cfg.Quiet <= 0 {
		cfg.Quiet = watch.DefaultQuiet
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = watch.DefaultMaxWait
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Daemon{
		cfg:     cfg,
		eng:     eng,
		log:     log,
		bus:     event.NewBus(eventHistory),
		started: time.Now(),
		project: project,
		states:  make(map[string]*serviceState),
	}
}

// Run supervises the project until ctx ends. Containers keep running when
// Run returns.
func Run(ctx context.Context, cfg Config, project *compose.Project, eng Engine) error {
	return New(cfg, project, eng).Run(ctx)
}

// Run supervises the project until ctx ends, reloading it when its files
// change. Containers keep running when Run returns.
func (d *Daemon) Run(ctx context.Context) error {
	d.bus.Publish(event.Event{Type: event.Started, Reason: "supervising project " + d.currentProject().Name})

	var carried []plan.Work
	for {
		project := d.currentProject()
		s, err := newSession(d, project)
		if err != nil {
			return err
		}
		d.setSession(s)
		next, pending, err := s.run(ctx, carried)
		d.setSession(nil)

		if errors.Is(err, errStopped) {
			logUnapplied(d.log, pending)
			return nil
		}
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.project = next
		d.mu.Unlock()
		carried = pending
		d.log.Info("configuration reloaded", "project", next.Name, "service_count", len(next.Services))
		d.bus.Publish(event.Event{Type: event.ConfigReloaded})
	}
}

// Events returns the daemon's event bus.
func (d *Daemon) Events() *event.Bus { return d.bus }

func (d *Daemon) currentProject() *compose.Project {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.project
}

func (d *Daemon) setSession(s *session) {
	d.mu.Lock()
	d.sess = s
	d.mu.Unlock()
}

func (d *Daemon) session() *session {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sess
}

// state returns the lasting state of a service, creating it on first use.
func (d *Daemon) state(service string) *serviceState {
	d.mu.Lock()
	defer d.mu.Unlock()
	st, ok := d.states[service]
	if !ok {
		st = &serviceState{}
		d.states[service] = st
	}
	return st
}

// firstProcessWarning reports whether the service is still to be warned
// that its process restarts fall back to container restarts, and marks it
// warned, so that a reload does not repeat the warning.
func (d *Daemon) firstProcessWarning(service string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.processWarned[service] {
		return false
	}
	if d.processWarned == nil {
		d.processWarned = make(map[string]bool)
	}
	d.processWarned[service] = true
	return true
}

// logUnapplied warns about the file changes that devd stops without
// applying. Work that no file changed, such as the comparison with a
// container that has not started, loses nothing and is not reported.
func logUnapplied(log hclog.Logger, pending []plan.Work) {
	for _, w := range pending {
		if w.PathCount == 0 && len(w.Changes) == 0 {
			continue
		}
		log.Warn("stopping with changes not applied to the containers yet", "service", w.Service, "path_count", w.PathCount)
	}
}
