package daemon

import (
	"context"
	"sync"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// outputFollower publishes the output of the project's running containers
// as Output events, one follower goroutine per container. It is safe for
// concurrent use; wait blocks until every follower has ended, which they do
// when their container stops or ctx ends.
type outputFollower struct {
	eng     Engine
	bus     *event.Bus
	log     hclog.Logger
	started time.Time // containers already running then show output from then on

	mu      sync.Mutex
	running map[string]bool // guarded by mu; container ids with a follower
	wg      sync.WaitGroup
}

func newOutputFollower(eng Engine, bus *event.Bus, log hclog.Logger) *outputFollower {
	return &outputFollower{eng: eng, bus: bus, log: log, started: time.Now(), running: make(map[string]bool)}
}

// ensure starts a follower for a running container that has none.
func (o *outputFollower) ensure(ctx context.Context, c engine.Container) {
	if !c.Running || ctx.Err() != nil {
		return
	}
	o.mu.Lock()
	if o.running[c.ID] {
		o.mu.Unlock()
		return
	}
	o.running[c.ID] = true
	o.wg.Add(1)
	o.mu.Unlock()

	since := c.StartedAt
	if since.Before(o.started) {
		since = o.started
	}
	go func() {
		defer o.wg.Done()
		err := o.eng.FollowLogs(ctx, c.ID, since, func(stream string, text []byte) {
			o.bus.Publish(event.Event{Type: event.Output, Service: c.Service, Container: c.Name, Stream: stream, Text: string(text)})
		})
		if err != nil && ctx.Err() == nil {
			o.log.Debug("container output ended", "container", c.Name, "error", err)
		}
		o.mu.Lock()
		delete(o.running, c.ID)
		o.mu.Unlock()
	}()
}

func (o *outputFollower) wait() { o.wg.Wait() }
