package engine

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
)

func TestToEvent(t *testing.T) {
	attrs := map[string]string{LabelProject: "shop", LabelService: "api", LabelNumber: "2", "name": "shop-api-2"}
	const nanos = int64(1700000000123456789)

	kept := []string{"create", "start", "restart", "die", "stop", "kill", "destroy", "rename",
		"pause", "unpause", "oom", "health_status: healthy", "health_status: unhealthy", "health_status"}
	for _, action := range kept {
		msg := events.Message{Type: events.ContainerEventType, Action: events.Action(action),
			Actor: events.Actor{ID: "abc", Attributes: attrs}, Time: nanos / 1e9, TimeNano: nanos}
		ev, ok := toEvent(msg)
		if !ok {
			t.Errorf("action %q dropped, want kept", action)
			continue
		}
		want := Event{ContainerID: "abc", Action: action, Service: "api", Number: 2, Time: time.Unix(0, nanos)}
		if !ev.Time.Equal(want.Time) || ev.ContainerID != want.ContainerID || ev.Action != want.Action ||
			ev.Service != want.Service || ev.Number != want.Number {
			t.Errorf("toEvent(%q) = %+v, want %+v", action, ev, want)
		}
	}

	dropped := []string{"exec_create: rm -rf -- /app/x", "exec_start: rm -rf -- /app/x", "exec_die",
		"exec_detach", "extract-to-dir", "archive-path", "attach", "detach", "resize", "top", "commit",
		"copy", "export", "update", "mount", "health_statusx"}
	for _, action := range dropped {
		msg := events.Message{Type: events.ContainerEventType, Action: events.Action(action),
			Actor: events.Actor{ID: "abc", Attributes: attrs}, TimeNano: nanos}
		if _, ok := toEvent(msg); ok {
			t.Errorf("action %q kept, want dropped", action)
		}
	}

	network := events.Message{Type: events.NetworkEventType, Action: "connect", Actor: events.Actor{ID: "net"}}
	if _, ok := toEvent(network); ok {
		t.Error("network event kept, want dropped")
	}
}

func TestToEventSecondsOnly(t *testing.T) {
	msg := events.Message{Type: events.ContainerEventType, Action: "start", Actor: events.Actor{ID: "abc"}, Time: 1700000000}
	ev, ok := toEvent(msg)
	if !ok || !ev.Time.Equal(time.Unix(1700000000, 0)) || ev.Number != 0 {
		t.Errorf("toEvent = %+v, %v; want time from seconds and number 0", ev, ok)
	}
}
