package control

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/devdtool/devd/event"
	"github.com/hashicorp/go-hclog"
)

// streamBuffer is how many events a stream's subscription holds while the
// client reads slowly. Beyond it the bus drops events for that stream.
const streamBuffer = 1024

// eventsFilter selects the events of a stream.
type eventsFilter struct {
	history  bool            // start with the bus's history
	output   bool            // include Output events
	follow   bool            // go on with new events until the client leaves
	services map[string]bool // nil means every service
}

// match reports whether the filter lets e through. Project-wide events,
// which have no service, pass every service filter.
func (f eventsFilter) match(e event.Event) bool {
	if e.Type == event.Output && !f.output {
		return false
	}
	if f.services != nil && e.Service != "" && !f.services[e.Service] {
		return false
	}
	return true
}

func (f eventsFilter) serviceList() []string {
	names := make([]string, 0, len(f.services))
	for name := range f.services {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// eventsParams are the query parameters of the events endpoints.
var eventsParams = []string{"history", "output", "follow", "service"}

// parseEventsQuery reads history, output, follow (default true) and
// service, a comma-separated list that may also be repeated.
func parseEventsQuery(q url.Values) (eventsFilter, error) {
	f := eventsFilter{follow: true}
	for name, values := range q {
		if !slices.Contains(eventsParams, name) {
			return f, fmt.Errorf("unknown query parameter %q: the parameters are history, output, follow and service", name)
		}
		if name != "service" && len(values) > 1 {
			return f, fmt.Errorf("query parameter %q is given %d times: give it once", name, len(values))
		}
	}

	flags := map[string]*bool{"history": &f.history, "output": &f.output, "follow": &f.follow}
	for name, dst := range flags {
		if v, ok := q[name]; ok {
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return f, fmt.Errorf("invalid %s=%q: use 1 or 0 (true or false)", name, v[0])
			}
			*dst = b
		}
	}

	for _, v := range q["service"] {
		names, err := splitList("service", v)
		if err != nil {
			return f, err
		}
		if f.services == nil {
			f.services = make(map[string]bool)
		}
		for _, n := range names {
			f.services[n] = true
		}
	}
	return f, nil
}

// parseServiceQuery reads the optional service parameter of pause and
// resume; "" means every service.
func parseServiceQuery(q url.Values) (string, error) {
	for name, values := range q {
		if name != "service" {
			return "", fmt.Errorf("unknown query parameter %q: the only parameter is service", name)
		}
		if len(values) > 1 {
			return "", fmt.Errorf("query parameter service is given %d times: give one service, or none for every service", len(values))
		}
		if values[0] == "" {
			return "", fmt.Errorf("empty service: give a service name, or leave the parameter out for every service")
		}
	}
	return q.Get("service"), nil
}

// eventSource is the part of *event.Bus that a stream reads.
type eventSource interface {
	Subscribe(buffer int) *event.Subscription
	History() []event.Event
}

// streamEvents sends the filtered history, when asked, and then, when
// following, every new event that passes the filter, until ctx is done or
// emit fails because the client left.
func streamEvents(ctx context.Context, bus eventSource, f eventsFilter, emit func(event.Event) error, log hclog.Logger) {
	var sub *event.Subscription
	if f.follow {
		// Subscribe before reading the history so that no event falls
		// between the two.
		sub = bus.Subscribe(streamBuffer)
		defer sub.Close()
	}

	var history, pending []event.Event
	if f.history {
		history = bus.History()
		if sub != nil {
			pending = dropReplayed(history, drain(sub, len(sub.C())))
		}
	}
	for _, e := range append(history, pending...) {
		if !f.match(e) {
			continue
		}
		if err := emit(e); err != nil {
			return
		}
	}
	if sub == nil {
		return
	}

	defer func() {
		if n := sub.Dropped(); n > 0 {
			log.Warn("event stream fell behind and lost events", "dropped", n)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-sub.C():
			if !ok {
				return
			}
			if !f.match(e) {
				continue
			}
			if err := emit(e); err != nil {
				return
			}
		}
	}
}

// drain takes n events that are already buffered in the subscription.
func drain(sub *event.Subscription, n int) []event.Event {
	out := make([]event.Event, 0, n)
	for range n {
		out = append(out, <-sub.C())
	}
	return out
}

// dropReplayed returns the events of pending that history does not contain.
// pending are the first events of a subscription made just before history
// was read. The events published between the two are both the end of
// history and the start of pending, so the last of them equals the last
// event of history.
//
// NOTE: an event published after the history was read that is equal in
// every field, time included, to the last event of history is taken for a
// replay and dropped. Publish stamps events with the current time, so this
// needs two events with the same explicit time and content.
func dropReplayed(history, pending []event.Event) []event.Event {
	if len(history) == 0 {
		return pending
	}
	last := history[len(history)-1]
	for i := len(pending) - 1; i >= 0; i-- {
		if sameEvent(pending[i], last) {
			return pending[i+1:]
		}
	}
	return pending
}

func sameEvent(a, b event.Event) bool {
	return a.Time.Equal(b.Time) && a.Type == b.Type && a.Service == b.Service &&
		a.Container == b.Container && a.Reason == b.Reason && slices.Equal(a.Paths, b.Paths) &&
		a.Files == b.Files && a.Bytes == b.Bytes && a.DurationMS == b.DurationMS &&
		a.Error == b.Error && a.Address == b.Address && a.Stream == b.Stream && a.Text == b.Text
}
