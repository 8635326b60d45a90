package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/control/controltest"
	"github.com/devdtool/devd/event"
)

// controlTimeout bounds every wait in the control command tests.
const controlTimeout = 10 * time.Second

const controlCompose = `name: ctltest
services:
  api:
    image: scratch
    volumes:
      - ./app:/app
  web:
    image: scratch
`

// lockedBuffer is a bytes.Buffer that a command may write while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fakeDevd serves a fake backend for project ctltest in a new runtime
// folder, as a running devd would. stop ends the server; it also runs when
// the test ends.
func fakeDevd(t *testing.T) (b *controltest.Backend, stop func()) {
	t.Helper()
	runtimeDirForTest(t)
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	b = controltest.New(control.Status{
		Project: "ctltest",
		PID:     4242,
		Version: "v0.1.0",
		Started: started,
		Services: []control.ServiceStatus{
			{
				Name: "api", Watched: true, RestartMode: "signal:SIGHUP", RestartCount: 4,
				Containers:  []control.ContainerStatus{{Name: "ctltest-api-1", ID: "abc", State: "running"}},
				LastSync:    &control.SyncStatus{Time: started, Files: 3, Bytes: 2150, DurationMS: 12},
				LastRestart: &control.RestartStatus{Time: started, Reason: "src/routes.js changed", ReadyMS: 142},
				Debug:       []control.DebugStatus{{Port: 9229, Address: "127.0.0.1:9229", Runtime: "node", Connections: 1, Connected: true}},
			},
			{Name: "web", Watched: true, RestartMode: "container"},
		},
	})

	ln, closeSocket, err := control.Listen("ctltest")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := control.NewServer(b, nil).Serve(ctx, ln); err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			closeSocket()
		})
	}
	t.Cleanup(stop)
	return b, stop
}

// runtimeDirForTest points XDG_RUNTIME_DIR at a new short folder, so the
// socket path stays under the kernel's length limit.
func runtimeDirForTest(t *testing.T) {
	t.Helper()
	dir, err := os.MkdirTemp("", "devd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("XDG_RUNTIME_DIR", dir)
}

// runControl runs devd in a project folder with controlCompose and returns
// its exit code, standard output and standard error.
func runControl(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	t.Chdir(project(t, controlCompose))
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestStatusCommandJSON(t *testing.T) {
	fakeDevd(t)
	code, stdout, stderr := runControl(t, "status", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}

	var raw map[string]any
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("status --json is not JSON: %v\n%s", err, stdout)
	}
	services, ok := raw["services"].([]any)
	if !ok || len(services) != 2 {
		t.Fatalf("services is %v, want an array of 2", raw["services"])
	}
	api, _ := services[0].(map[string]any)
	if api["name"] != "api" || api["restart_count"] != float64(4) {
		t.Errorf("first service %v, want name api and restart_count 4", api)
	}
	if raw["project"] != "ctltest" || raw["pid"] != float64(4242) {
		t.Errorf("project %v pid %v, want ctltest 4242", raw["project"], raw["pid"])
	}
}

func TestStatusCommandText(t *testing.T) {
	fakeDevd(t)
	code, stdout, stderr := runControl(t, "status")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"devd v0.1.0 for project ctltest, pid 4242",
		"api  running\n",
		"  last sync     3 files (2.1 KB) in 12 ms at 12:00:00\n",
		"  last restart  src/routes.js changed, ready in 142 ms, at 12:00:00\n",
		"  restarts      4\n",
		"  debug         127.0.0.1:9229 -> container port 9229 (node), debugger connected (1 connection)\n",
		"web  no container\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("status output has no %q:\n%s", want, stdout)
		}
	}
}

func TestControlCommandsWithoutDevd(t *testing.T) {
	runtimeDirForTest(t)
	for _, args := range [][]string{{"status"}, {"logs"}, {"restart", "api"}, {"pause"}} {
		code, _, stderr := runControl(t, args...)
		if code != exitNotRunning {
			t.Errorf("%v: exit %d, want %d", args, code, exitNotRunning)
		}
		for _, want := range []string{`no devd is running for project "ctltest"`, "start it with 'devd'"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("%v: stderr %q has no %q", args, stderr, want)
			}
		}
	}
}

func TestUnknownServiceCommand(t *testing.T) {
	b, _ := fakeDevd(t)
	for _, args := range [][]string{{"restart", "nope"}, {"sync", "nope"}, {"pause", "nope"}, {"resume", "nope"}, {"logs", "nope"}} {
		code, _, stderr := runControl(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
		if want := `unknown service "nope"; the project's services are api, web`; !strings.Contains(stderr, want) {
			t.Errorf("%v: stderr %q has no %q", args, stderr, want)
		}
	}
	if calls := b.CallLog(); len(calls) != 0 {
		t.Errorf("backend got calls %v", calls)
	}
}

func TestActionCommands(t *testing.T) {
	b, _ := fakeDevd(t)
	cases := []struct {
		args []string
		out  string
		call controltest.Call
	}{
		{[]string{"restart", "api"}, "api: restarted\n", controltest.Call{Method: "Restart", Service: "api"}},
		{[]string{"sync", "web"}, "web: synced\n", controltest.Call{Method: "Sync", Service: "web"}},
		{[]string{"pause"}, "every service: paused; changes are kept until 'devd resume'\n", controltest.Call{Method: "Pause"}},
		{[]string{"resume", "web"}, "web: resumed\n", controltest.Call{Method: "Resume", Service: "web"}},
	}
	for _, tc := range cases {
		code, stdout, stderr := runControl(t, tc.args...)
		if code != exitOK || stdout != tc.out {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and %q", tc.args, code, stdout, stderr, tc.out)
		}
	}
	calls := b.CallLog()
	if len(calls) != len(cases) {
		t.Fatalf("calls %v", calls)
	}
	for i, tc := range cases {
		if calls[i] != tc.call {
			t.Errorf("call %d is %v, want %v", i, calls[i], tc.call)
		}
	}
}

func TestActionCommandFailure(t *testing.T) {
	b, _ := fakeDevd(t)
	b.FailWith(errBoom)
	code, _, stderr := runControl(t, "restart", "api")
	if code != exitFailure || !strings.Contains(stderr, "restarting api: boom") {
		t.Errorf("exit %d, stderr %q; want %d and the backend's error", code, stderr, exitFailure)
	}
}

var errBoom = errors.New("boom")

func TestControlCommandUsage(t *testing.T) {
	fakeDevd(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"restart"}, "'devd restart' takes exactly one SERVICE, got 0 arguments"},
		{[]string{"sync", "api", "web"}, "'devd sync' takes exactly one SERVICE, got 2 arguments"},
		{[]string{"pause", "api", "web"}, "'devd pause' takes at most one SERVICE"},
		{[]string{"status", "api"}, "unknown command"},
		{[]string{"logs", "-f"}, "to follow the logs, use --follow"},
		{[]string{"completion", "powershell"}, "takes one shell: bash, zsh or fish"},
	}
	for _, tc := range cases {
		code, _, stderr := runControl(t, tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// timestamped matches a line of `devd logs`.
var timestamped = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d\d\d `)

func TestLogsCommand(t *testing.T) {
	b, _ := fakeDevd(t)
	bus := b.Events()
	bus.Publish(event.Event{Type: event.SyncDone, Service: "api", Files: 3, Bytes: 2150, DurationMS: 12})
	bus.Publish(event.Event{Type: event.Output, Service: "api", Text: "hello from api"})
	bus.Publish(event.Event{Type: event.RestartReady, Service: "web", DurationMS: 90})

	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"logs"}, []string{"api: synced 3 files (2.1 KB) in 12 ms", "api | hello from api", "web: ready in 90 ms"}},
		{[]string{"logs", "--no-output"}, []string{"api: synced 3 files (2.1 KB) in 12 ms", "web: ready in 90 ms"}},
		{[]string{"logs", "web"}, []string{"web: ready in 90 ms"}},
	}
	for _, tc := range cases {
		code, stdout, stderr := runControl(t, tc.args...)
		if code != exitOK {
			t.Errorf("%v: exit %d: %s", tc.args, code, stderr)
			continue
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
			if !timestamped.MatchString(line) {
				t.Errorf("%v: line %q has no timestamp", tc.args, line)
				continue
			}
			got = append(got, line[len("15:04:05.000 "):])
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%v: got\n%s\nwant\n%s", tc.args, strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}

// runInBackground runs devd in a project folder with controlCompose while
// the test goes on, and returns its output buffers and a channel with its
// exit code.
func runInBackground(t *testing.T, args ...string) (stdout, stderr *lockedBuffer, code <-chan int) {
	t.Helper()
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	t.Chdir(project(t, controlCompose))
	stdout, stderr = &lockedBuffer{}, &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(args, stdout, stderr) }()
	return stdout, stderr, done
}

// waitOutput waits until buf contains want, or fails the test.
func waitOutput(t *testing.T, buf *lockedBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(controlTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(buf.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("output has no %q after %s:\n%s", want, controlTimeout, buf.String())
		}
		<-tick.C
	}
}

func waitExit(t *testing.T, code <-chan int) int {
	t.Helper()
	select {
	case c := <-code:
		return c
	case <-time.After(controlTimeout):
		t.Fatalf("command did not exit within %s", controlTimeout)
		return -1
	}
}

func TestLogsFollow(t *testing.T) {
	b, stop := fakeDevd(t)
	b.Events().Publish(event.Event{Type: event.Started, Reason: "watching api, web"})

	stdout, stderr, code := runInBackground(t, "logs", "--follow", "api")
	waitOutput(t, stdout, "devd: started (watching api, web)")

	b.Events().Publish(event.Event{Type: event.RestartStarted, Service: "web", Reason: "not shown"})
	b.Events().Publish(event.Event{Type: event.RestartStarted, Service: "api", Reason: "src/a.js changed"})
	waitOutput(t, stdout, "api: restarting (src/a.js changed)")

	stop()
	if c := waitExit(t, code); c != exitOK {
		t.Errorf("exit %d after devd stopped, want 0: %s", c, stderr)
	}
	if strings.Contains(stdout.String(), "not shown") {
		t.Errorf("logs of api showed a web event:\n%s", stdout)
	}
	if !strings.Contains(stderr.String(), "stopped") {
		t.Errorf("stderr %q does not say that devd stopped", stderr)
	}
}

func TestEventsCommand(t *testing.T) {
	b, stop := fakeDevd(t)
	b.Events().Publish(event.Event{Type: event.Started})

	stdout, stderr, code := runInBackground(t, "events", "--output", "--history")
	waitOutput(t, stdout, `"type":"started"`)
	b.Events().Publish(event.Event{Type: event.Output, Service: "api", Stream: "stdout", Text: "hello"})
	b.Events().Publish(event.Event{Type: event.SyncDone, Service: "api", Files: 2, Bytes: 10, DurationMS: 3})
	waitOutput(t, stdout, `"type":"sync_done"`)
	stop()
	if c := waitExit(t, code); c != exitOK {
		t.Errorf("exit %d, want 0: %s", c, stderr)
	}

	var types []event.Type
	for _, line := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var e event.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q is not an event: %v", line, err)
		}
		types = append(types, e.Type)
		if e.Type == event.Output && (e.Text != "hello" || e.Stream != "stdout") {
			t.Errorf("output event %+v", e)
		}
	}
	if want := []event.Type{event.Started, event.Output, event.SyncDone}; len(types) != 3 || types[0] != want[0] || types[1] != want[1] || types[2] != want[2] {
		t.Errorf("event types %v, want %v", types, want)
	}
}

func TestCompletionCommand(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish"} {
		var stdout, stderr bytes.Buffer
		code := run([]string{"completion", shell}, &stdout, &stderr)
		if code != exitOK {
			t.Errorf("%s: exit %d: %s", shell, code, stderr.String())
		}
		if out := stdout.String(); len(out) < 100 || !strings.Contains(out, "devd") {
			t.Errorf("%s: completion script of %d bytes without devd in it", shell, len(out))
		}
	}
}
