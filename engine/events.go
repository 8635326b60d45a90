package engine

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// Event is a change in a project container's life.
type Event struct {
	ContainerID string

	// Action is the engine's action: create, start, restart, die, stop,
	// kill, destroy, rename, pause, unpause, oom, or a health check result
	// such as "health_status: healthy".
	Action string

	Service string // Compose service label
	Number  int    // Compose container number, 0 when absent
	Time    time.Time
}

// lifecycleActions are the container actions devd reacts to. Everything else
// is noise from devd's own work (every copy emits extract-to-dir, every exec
// emits exec_create/exec_start/exec_die) or from other tools (attach, resize,
// top, commit, export).
var lifecycleActions = map[string]bool{
	"create":  true,
	"start":   true,
	"restart": true,
	"die":     true,
	"stop":    true,
	"kill":    true,
	"destroy": true,
	"rename":  true,
	"pause":   true,
	"unpause": true,
	"oom":     true,
}

// healthAction is the prefix of health check results, to which the engine
// appends the status.
const healthAction = "health_status"

// Events streams the lifecycle events of the project's containers that
// happen after since (a zero since starts now). The engine filters by type
// and project label. Actions are filtered here, because engine versions
// differ in how they match actions with a suffix ("health_status: healthy").
//
// Contract: ctx owns the goroutine behind the stream, and cancelling ctx
// stops it. When the stream ends, for any reason, exactly one error (wrapping
// ctx.Err() after a cancel, io.EOF when the engine closes the stream) is sent
// on the error channel, then both channels are closed. Read the events until
// the channel closes, then read the error. The engine does not resend what
// was missed, so re-subscribe with since set to the last event's Time.
func (c *Client) Events(ctx context.Context, project string, since time.Time) (<-chan Event, <-chan error) {
	opts := events.ListOptions{
		Filters: filters.NewArgs(
			filters.Arg("type", string(events.ContainerEventType)),
			filters.Arg("label", LabelProject+"="+project),
		),
	}
	if !since.IsZero() {
		opts.Since = since.UTC().Format(time.RFC3339Nano)
	}

	out := make(chan Event)
	errc := make(chan error, 1)
	messages, apiErrs := c.api.Events(ctx, opts)
	go func() {
		defer close(errc)
		defer close(out)
		for {
			select {
			case msg := <-messages:
				ev, ok := toEvent(msg)
				if !ok {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					errc <- ctx.Err()
					return
				}
			case err := <-apiErrs:
				errc <- fmt.Errorf("watching events of project %s: %w", project, err)
				return
			}
		}
	}()
	return out, errc
}

// toEvent converts an engine message and reports whether devd keeps it.
func toEvent(msg events.Message) (Event, bool) {
	action := string(msg.Action)
	if msg.Type != events.ContainerEventType || !keepAction(action) {
		return Event{}, false
	}
	number, _ := strconv.Atoi(msg.Actor.Attributes[LabelNumber])
	t := time.Unix(0, msg.TimeNano)
	if msg.TimeNano == 0 {
		t = time.Unix(msg.Time, 0)
	}
	return Event{
		ContainerID: msg.Actor.ID,
		Action:      action,
		Service:     msg.Actor.Attributes[LabelService],
		Number:      number,
		Time:        t,
	}, true
}

func keepAction(action string) bool {
	return lifecycleActions[action] || action == healthAction || strings.HasPrefix(action, healthAction+":")
}
