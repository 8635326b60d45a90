package daemon

import (
	"context"
	"errors"
	"sort"
	"sync"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// Backoff bounds for reconnecting to an engine that stopped answering.
const (
	reconnectMinDelay = 250 * time.Millisecond
	reconnectMaxDelay = 10 * time.Second
)

// registry tracks the project's service containers by their Compose labels
// and follows them through the engine's event stream. Containers are keyed
// by id and never by name: recreation gives a new id under the same name.
//
// A registry is safe for concurrent use. Its run method is called once, and
// onChange is called from run's goroutine with the event that changed a
// service's containers, or with a nil event after the registry listed the
// containers anew (at start and after a reconnect).
type registry struct {
	eng      Engine
	project  string
	log      hclog.Logger
	onChange func(ev *engine.Event)
	bus      *event.Bus

	mu         sync.Mutex
	containers map[string]engine.Container // guarded by mu; keyed by container id
	connected  bool                        // guarded by mu
	killedAt   map[string]time.Time        // guarded by mu; last kill event per container id
	listed     bool                        // used by run's goroutine only
	everListed bool                        // guarded by mu; the first listing is done
}

func newRegistry(eng Engine, project string, log hclog.Logger, onChange func(ev *engine.Event), bus *event.Bus) *registry {
	return &registry{
		bus:        bus,
		eng:        eng,
		project:    project,
		log:        log,
		onChange:   onChange,
		containers: make(map[string]engine.Container),
	}
}

// Running returns the service's running containers, lowest container
// number first.
func (r *registry) Running(service string) []engine.Container {
	r.mu.Lock()
	defer r.mu.Unlock()

	var out []engine.Container
	for _, c := range r.containers {
		if c.Service == service && c.Running && !c.Paused {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// All returns every known container of the service, running or not.
func (r *registry) All(service string) []engine.Container {
	r.mu.Lock()
	defer r.mu.Unlock()

	var out []engine.Container
	for _, c := range r.containers {
		if c.Service == service {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// KilledAt returns when the container last got a kill event (docker stop,
// docker kill, a restart), zero when never.
func (r *registry) KilledAt(id string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.killedAt[id]
}

// Container returns the known state of one container.
func (r *registry) Container(id string) (engine.Container, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	return c, ok
}

// Listed reports whether the registry has listed the project's containers
// at least once. Until then, no running container does not mean none runs.
func (r *registry) Listed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.everListed
}

// Connected reports whether the event stream is currently up.
func (r *registry) Connected() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.connected
}

// run follows the engine until ctx ends. When the event stream fails it
// logs once, reconnects with backoff, subscribes again from the last event
// it saw and lists the containers anew, so nothing falls in the gap.
func (r *registry) run(ctx context.Context) {
	since := time.Time{}
	delay := reconnectMinDelay
	lostAt := time.Time{}

	for ctx.Err() == nil {
		last, err := r.follow(ctx, since)
		if !last.IsZero() {
			since = last
		}
		if ctx.Err() != nil {
			return
		}

		r.setConnected(false)
		if lostAt.IsZero() {
			lostAt = time.Now()
			r.log.Warn("lost the Docker engine; changes are kept and applied when it answers again", "error", err)
			r.publish(event.Event{Type: event.EngineLost, Error: err.Error()})
		} else {
			r.log.Debug("engine still unreachable", "error", err, "retry_in", delay)
		}

		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if r.eng.Ping(ctx) == nil {
			r.log.Info("Docker engine answers again", "down_for", time.Since(lostAt).Round(time.Millisecond))
			r.publish(event.Event{Type: event.EngineBack, DurationMS: time.Since(lostAt).Milliseconds()})
			lostAt = time.Time{}
			delay = reconnectMinDelay
			continue
		}
		delay *= 2
		if delay > reconnectMaxDelay {
			delay = reconnectMaxDelay
		}
	}
}

// follow subscribes to events, lists the containers, then applies events
// until the stream fails. It returns the time of the last event seen.
func (r *registry) follow(ctx context.Context, since time.Time) (time.Time, error) {
	streamCtx, cancel := context.WithCancel(ctx)
	defer cancel()

	if since.IsZero() {
		since = time.Now()
	}
	events, errs := r.eng.Events(streamCtx, r.project, since)

	list, err := r.eng.ProjectContainers(ctx, r.project)
	if err != nil {
		return time.Time{}, err
	}
	r.replace(list)
	first := !r.listed
	r.listed = true
	r.mu.Lock()
	r.everListed = true
	r.mu.Unlock()
	if len(list) == 0 && first {
		r.log.Warn("no container of this project exists yet; devd picks them up when they start",
			"project", r.project, "hint", "start the stack with docker compose up, or check the project name (-p)")
	}
	r.setConnected(true)
	r.onChange(nil)

	last := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return last, ctx.Err()
		case err, ok := <-errs:
			if !ok {
				err = errors.New("event stream closed")
			}
			if err == nil {
				err = errors.New("event stream ended")
			}
			return last, err
		case ev, ok := <-events:
			if !ok {
				return last, errors.New("event stream closed")
			}
			last = ev.Time
			r.apply(ctx, ev)
		}
	}
}

func (r *registry) apply(ctx context.Context, ev engine.Event) {
	r.log.Trace("container event", "action", ev.Action, "service", ev.Service, "container_id", shortID(ev.ContainerID))

	if ev.Action == "kill" {
		r.mu.Lock()
		if r.killedAt == nil {
			r.killedAt = make(map[string]time.Time)
		}
		r.killedAt[ev.ContainerID] = ev.Time
		r.mu.Unlock()
	}

	if ev.Action == "destroy" {
		r.mu.Lock()
		delete(r.containers, ev.ContainerID)
		r.mu.Unlock()
		r.onChange(&ev)
		return
	}

	c, err := r.eng.InspectContainer(ctx, ev.ContainerID)
	switch {
	case errors.Is(err, engine.ErrNotFound):
		r.mu.Lock()
		delete(r.containers, ev.ContainerID)
		r.mu.Unlock()
	case err != nil:
		r.log.Debug("cannot inspect container after event", "container_id", shortID(ev.ContainerID), "error", err)
		return
	default:
		r.mu.Lock()
		old, known := r.containers[c.ID]
		r.containers[c.ID] = c
		r.mu.Unlock()
		if !known || old.Running != c.Running {
			r.logState(c)
		}
	}
	r.onChange(&ev)
}

func (r *registry) replace(list []engine.Container) {
	r.mu.Lock()
	r.containers = make(map[string]engine.Container, len(list))
	for _, c := range list {
		r.containers[c.ID] = c
	}
	r.mu.Unlock()
}

func (r *registry) setConnected(v bool) {
	r.mu.Lock()
	r.connected = v
	r.mu.Unlock()
}

func (r *registry) logState(c engine.Container) {
	if c.Running {
		r.log.Debug("container running", "service", c.Service, "container", c.Name, "container_id", shortID(c.ID))
		return
	}
	r.log.Debug("container not running", "service", c.Service, "container", c.Name, "state", c.State)
}

func (r *registry) publish(e event.Event) {
	if r.bus != nil {
		r.bus.Publish(e)
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
