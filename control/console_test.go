package control_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
)

func TestConsoleLines(t *testing.T) {
	cases := []struct {
		e    event.Event
		want string
	}{
		{event.Event{Type: event.SyncDone, Service: "api", Files: 3, Bytes: 2150, DurationMS: 12}, "api: synced 3 files (2.1 KB) in 12 ms"},
		{event.Event{Type: event.SyncDone, Service: "api", Files: 1, Bytes: 300, DurationMS: 1500}, "api: synced 1 file (300 B) in 1.5 s"},
		{event.Event{Type: event.SyncDone, Service: "api", Files: 40, Bytes: 5 << 20, DurationMS: 125_000}, "api: synced 40 files (5.0 MB) in 2m5s"},
		{event.Event{Type: event.SyncStarted, Service: "api", Files: 2, Container: "shop-api-1"}, "api: syncing 2 files into shop-api-1"},
		{event.Event{Type: event.SyncStarted, Service: "api", Container: "shop-api-1", Paths: []string{"src/a.js"}}, "api: syncing into shop-api-1 (src/a.js changed)"},
		{event.Event{Type: event.SyncFailed, Service: "api", Container: "shop-api-1", Error: "no space left on device"}, "api: sync into shop-api-1 failed, will retry: no space left on device"},
		{event.Event{Type: event.RestartStarted, Service: "api", Reason: "src/routes.js changed"}, "api: restarting (src/routes.js changed)"},
		{event.Event{Type: event.RestartStarted, Service: "api", Paths: []string{"a.js", "b.js"}}, "api: restarting (a.js, b.js changed)"},
		{event.Event{Type: event.RestartReady, Service: "api", DurationMS: 142}, "api: ready in 142 ms"},
		{event.Event{Type: event.RestartReady, Service: "api"}, "api: ready"},
		{event.Event{Type: event.RestartFailed, Service: "api", Error: "container exited"}, "api: restart failed: container exited"},
		{event.Event{Type: event.DebuggerAttached, Service: "api", Address: "127.0.0.1:9229"}, "api: debugger attached at 127.0.0.1:9229"},
		{event.Event{Type: event.DebuggerDetached, Service: "api", Address: "127.0.0.1:9229"}, "api: debugger detached from 127.0.0.1:9229"},
		{event.Event{Type: event.Output, Service: "api", Stream: "stderr", Text: "listening on :3000"}, "api | listening on :3000"},
		{event.Event{Type: event.BuildStarted, Service: "worker", Reason: "main.go changed"}, "worker: building (main.go changed)"},
		{event.Event{Type: event.BuildDone, Service: "worker", DurationMS: 2300}, "worker: built in 2.3 s"},
		{event.Event{Type: event.BuildFailed, Service: "worker", Error: "exit status 2"}, "worker: build failed: exit status 2"},
		{event.Event{Type: event.ServiceExited, Service: "api", Reason: "exit code 1"}, "api: process exited (exit code 1)"},
		{event.Event{Type: event.Paused, Service: "api"}, "api: paused: changes are kept until 'devd resume'"},
		{event.Event{Type: event.Paused}, "devd: paused every service: changes are kept until 'devd resume'"},
		{event.Event{Type: event.Resumed}, "devd: resumed every service"},
		{event.Event{Type: event.Started, Reason: "watching api, web"}, "devd: started (watching api, web)"},
		{event.Event{Type: event.ConfigReloaded, Reason: "compose.yaml changed"}, "devd: configuration reloaded (compose.yaml changed)"},
		{event.Event{Type: event.ConfigInvalid, Error: "compose.yaml: services.api.x-devd.restart: invalid"}, "devd: configuration is invalid, the previous rules stay in force: compose.yaml: services.api.x-devd.restart: invalid"},
		{event.Event{Type: event.ContainerWaiting, Service: "api", Reason: "no running container", Paths: []string{"src/a.js"}}, "api: changes wait for a running container (src/a.js changed)"},
		{event.Event{Type: event.ContainerWaiting, Service: "api", Reason: "no running container"}, "api: changes wait for a running container (no running container)"},
		{event.Event{Type: event.LoopStopped, Service: "api", Paths: []string{"dist/out.js"}, Reason: "the service changes this path every time it starts"}, "api: restart loop stopped: changes to dist/out.js no longer restart it (the service changes this path every time it starts)"},
		{event.Event{Type: event.EngineLost, Error: "connection refused"}, "devd: lost the Docker engine, reconnecting: connection refused"},
		{event.Event{Type: event.EngineBack}, "devd: the Docker engine is back"},
		{event.Event{Type: event.EngineBack, DurationMS: 3200}, "devd: the Docker engine is back after 3.2 s"},
		{event.Event{Type: "future_type", Service: "api", Reason: "why"}, "api: future_type (why)"},
	}
	for _, tc := range cases {
		var buf bytes.Buffer
		control.NewConsole(&buf, false).Render(tc.e)
		if got := buf.String(); got != tc.want+"\n" {
			t.Errorf("%s: got %q, want %q", tc.e.Type, got, tc.want)
		}
	}
}

func TestConsoleTimestamps(t *testing.T) {
	var buf bytes.Buffer
	c := control.NewConsole(&buf, false)
	c.SetTimestamps(true)
	c.Render(event.Event{Time: time.Date(2024, 5, 1, 14, 3, 22, 125e6, time.UTC), Type: event.RestartReady, Service: "api", DurationMS: 142})
	if want := "14:03:22.125 api: ready in 142 ms\n"; buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestConsoleCountsRepeatedErrors(t *testing.T) {
	var buf bytes.Buffer
	c := control.NewConsole(&buf, false)
	failed := event.Event{Type: event.SyncFailed, Service: "api", Container: "shop-api-1", Error: "disk full"}

	c.Render(failed)
	for range 5 {
		c.Render(failed)
		// Output between the repeats does not end the count.
		c.Render(event.Event{Type: event.Output, Service: "api", Text: "still running"})
	}
	c.Render(event.Event{Type: event.SyncDone, Service: "api", Files: 1, Bytes: 1, DurationMS: 1})
	c.Render(failed)
	c.Render(failed)
	c.Flush()
	c.Flush()

	want := strings.Join([]string{
		"api: sync into shop-api-1 failed, will retry: disk full",
		"api | still running",
		"api | still running",
		"api | still running",
		"api | still running",
		"api | still running",
		"api: sync into shop-api-1 failed, will retry: disk full (repeated 5 times)",
		"api: synced 1 file (1 B) in 1 ms",
		"api: sync into shop-api-1 failed, will retry: disk full",
		"api: sync into shop-api-1 failed, will retry: disk full (repeated once)",
	}, "\n") + "\n"
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestConsoleDifferentErrorsNotCounted(t *testing.T) {
	var buf bytes.Buffer
	c := control.NewConsole(&buf, false)
	c.Render(event.Event{Type: event.RestartFailed, Service: "api", Error: "a"})
	c.Render(event.Event{Type: event.RestartFailed, Service: "api", Error: "b"})
	c.Render(event.Event{Type: event.RestartFailed, Service: "web", Error: "b"})
	c.Flush()

	want := "api: restart failed: a\napi: restart failed: b\nweb: restart failed: b\n"
	if buf.String() != want {
		t.Errorf("got %q, want %q", buf.String(), want)
	}
}

func TestConsoleColor(t *testing.T) {
	var plain, colored bytes.Buffer
	e := event.Event{Type: event.RestartFailed, Service: "api", Error: "boom"}
	control.NewConsole(&plain, false).Render(e)
	control.NewConsole(&colored, true).Render(e)

	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain console wrote escape sequences: %q", plain.String())
	}
	if !strings.Contains(colored.String(), "\x1b[31mrestart failed: boom\x1b[0m") {
		t.Errorf("colour console did not write the failure in red: %q", colored.String())
	}
	stripped := strings.NewReplacer("\x1b[0m", "", "\x1b[31m", "", "\x1b[1m", "").Replace(colored.String())
	for _, code := range []string{"\x1b[36m", "\x1b[33m", "\x1b[35m", "\x1b[34m", "\x1b[96m", "\x1b[93m", "\x1b[95m", "\x1b[94m"} {
		stripped = strings.ReplaceAll(stripped, code, "")
	}
	if stripped != plain.String() {
		t.Errorf("colour console without escapes is %q, want %q", stripped, plain.String())
	}
}
