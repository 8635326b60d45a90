package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/watch"
	"github.com/hashicorp/go-hclog"
)

// heldSession runs a session whose only service, "api", syncs dir to /app
// and restarts, on the fake engine, without watchers.
func heldSession(t *testing.T, eng *fakeEngine, dir string) *session {
	t.Helper()
	svc := compose.Service{
		Name: "api", Watch: true, Restart: compose.RestartMode{Kind: compose.RestartContainer},
		Triggers: []compose.Trigger{{Action: compose.ActionSyncRestart, Path: dir, Target: "/app"}},
	}
	rules, err := plan.Compile([]compose.Service{svc})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	s := &session{project: &compose.Project{WorkingDir: filepath.Dir(dir)}, rules: rules, eng: eng,
		log: hclog.NewNullLogger(), workers: map[string]*worker{}}
	var w *worker
	s.reg = newRegistry(eng, "proj", hclog.NewNullLogger(), func(*engine.Event) {
		if w != nil {
			w.poke()
		}
	}, nil)
	w = newWorker(svc, rules[0].Rules, eng, s.reg, hclog.NewNullLogger(), event.NewBus(100), nil)
	s.workers["api"] = w
	wg.Add(2)
	go func() { defer wg.Done(); s.reg.run(ctx) }()
	go func() { defer wg.Done(); w.run(ctx) }()
	waitUntil(t, "the registry to connect", s.reg.Connected)
	return s
}

func (f *fakeEngine) counts() (copies, restarts int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.copies, len(f.restarts)
}

func TestSessionHoldsRestartUntilSettled(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "api")
	for _, name := range []string{"a.js", "b.js"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	eng := newFakeEngine(running("c1", "api"))
	s := heldSession(t, eng, dir)
	ctx := context.Background()

	s.handle(ctx, watch.Batch{Paths: []string{filepath.Join(dir, "a.js")}, First: time.Now()}, nil)
	waitUntil(t, "the first copy", func() bool { c, _ := eng.counts(); return c == 1 })
	s.handle(ctx, watch.Batch{Paths: []string{filepath.Join(dir, "b.js")}, First: time.Now()}, nil)
	waitUntil(t, "the second copy", func() bool { c, _ := eng.counts(); return c == 2 })
	time.Sleep(50 * time.Millisecond)
	if _, r := eng.counts(); r != 0 {
		t.Fatalf("%d restarts while events kept coming, want none", r)
	}
	if len(s.pending()) != 1 || !s.pending()[0].Restart {
		t.Errorf("pending work %+v does not carry the held restart", s.pending())
	}

	s.handle(ctx, watch.Batch{Settled: true}, nil)
	waitUntil(t, "the restart", func() bool { _, r := eng.counts(); return r == 1 })
	time.Sleep(50 * time.Millisecond)
	if c, r := eng.counts(); c != 2 || r != 1 {
		t.Errorf("after the events settled: %d copies and %d restarts, want 2 and 1", c, r)
	}

	// A restart held for maxHold goes ahead although events keep coming.
	s.handle(ctx, watch.Batch{Paths: []string{filepath.Join(dir, "a.js")}, First: time.Now().Add(-maxHold)}, nil)
	waitUntil(t, "the restart after maxHold", func() bool { _, r := eng.counts(); return r == 2 })
	if len(s.held) != 0 {
		t.Errorf("work still held after maxHold: %v", s.held)
	}
}

func TestDescribeTrigger(t *testing.T) {
	container := compose.RestartMode{Kind: compose.RestartContainer}
	build := compose.Service{Build: &compose.HostBuild{Command: []string{"sh", "-c", "go build -o bin/app ."}, Target: "/app/app"}}
	cases := []struct {
		name    string
		trigger compose.Trigger
		svc     compose.Service
		mode    compose.RestartMode
		want    string
	}{
		{"bind mount", compose.Trigger{Action: compose.ActionRestart, Target: "/app", BindMounted: true}, compose.Service{}, container,
			"web: bind-mounted at /app, restart the container"},
		{"bind mount without restart", compose.Trigger{Action: compose.ActionRestart, Target: "/srv/none", BindMounted: true}, compose.Service{},
			compose.RestartMode{Kind: compose.RestartNone}, "web: bind-mounted at /srv/none, no restart, as x-devd.restart is none"},
		{"sync without restart", compose.Trigger{Action: compose.ActionSyncRestart, Target: "/srv/none"}, compose.Service{},
			compose.RestartMode{Kind: compose.RestartNone}, "web: sync to /srv/none, no restart, as x-devd.restart is none"},
		{"sync", compose.Trigger{Action: compose.ActionSync, Target: "/srv"}, compose.Service{}, container, "web: sync to /srv"},
		{"sync and process restart", compose.Trigger{Action: compose.ActionSyncRestart, Target: "/srv"}, compose.Service{},
			compose.RestartMode{Kind: compose.RestartProcess}, "web: sync to /srv, restart the process"},
		{"restart by signal", compose.Trigger{Action: compose.ActionRestart}, compose.Service{},
			compose.RestartMode{Kind: compose.RestartSignal, Signal: "SIGHUP"}, "web: send SIGHUP"},
		{"restart in a bind mount without target", compose.Trigger{Action: compose.ActionRestart, BindMounted: true}, compose.Service{}, container,
			"web: restart the container"},
		{"rebuild", compose.Trigger{Action: compose.ActionRebuild}, compose.Service{}, container,
			"web: rebuild the image with docker compose and recreate the containers"},
		{"sync and exec", compose.Trigger{Action: compose.ActionSyncExec, Target: "/srv",
			Exec: &compose.ExecHook{Command: []string{"npm", "run", "build"}, User: "node", WorkingDir: "/srv"}}, compose.Service{}, container,
			"web: sync to /srv, then run `npm run build` as node in /srv"},
		{"sync and exec with defaults", compose.Trigger{Action: compose.ActionSyncExec, Target: "/srv",
			Exec: &compose.ExecHook{Command: []string{"sh", "-c", "echo a b"}}}, compose.Service{}, container,
			"web: sync to /srv, then run `sh -c \"echo a b\"` as the container's user in the container's working folder"},
		{"host build", compose.Trigger{Action: compose.ActionHostBuild}, build, container,
			"web: build on the host with `go build -o bin/app .`, copy the output to /app/app, restart the container"},
	}
	for _, tc := range cases {
		if got := describeTrigger("web", tc.trigger, tc.svc, tc.mode); got != tc.want {
			t.Errorf("%s: describeTrigger = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestProcessRestartWithoutSupervisorWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	svc := compose.Service{
		Name: "api", Watch: true, Restart: compose.RestartMode{Kind: compose.RestartProcess}, RestartSet: true,
		Triggers: []compose.Trigger{{Source: compose.SourceBindMount, Action: compose.ActionRestart, Path: dir, Target: "/app", BindMounted: true}},
	}
	project := &compose.Project{Name: "proj", WorkingDir: filepath.Dir(dir), Services: []compose.Service{svc}}
	const warning = "x-devd.restart is process, but no container of the service runs devd's supervisor"

	cases := []struct {
		name      string
		container engine.Container
		warnings  int
		line      string
	}{
		{"plain container", engine.Container{ID: "c1", Service: "api", Running: true}, 1, "restart the container"},
		{"no container", engine.Container{ID: "c2", Service: "other", Running: true}, 1, "restart the container"},
		{"supervised container", engine.Container{ID: "c1", Service: "api", Running: true, Labels: map[string]string{supervisorLabel: "1"}}, 0, "restart the process"},
	}
	for _, tc := range cases {
		var logs bytes.Buffer
		eng := newFakeEngine(tc.container)
		d := New(Config{Logger: hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Warn})}, project, eng)
		sub := d.Events().Subscribe(10)
		// A reload starts a new session, which must not warn again.
		for range 2 {
			s := &session{d: d, project: project, eng: eng, log: d.log}
			s.logWatching(context.Background())
		}
		if got := strings.Count(logs.String(), warning); got != tc.warnings {
			t.Errorf("%s: the warning came %d times, want %d; log:\n%s", tc.name, got, tc.warnings, logs.String())
		}
		e := <-sub.C()
		sub.Close()
		if !strings.Contains(e.Reason, tc.line) {
			t.Errorf("%s: watching line %q does not say %q", tc.name, e.Reason, tc.line)
		}
	}
}

// A .dockerignore edited into a pattern that does not parse is reported,
// naming the file, and the rules in force stay. Fixing it reloads them.
func TestSessionKeepsRulesOnBrokenDockerignore(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ignore := filepath.Join(dir, "app", ".dockerignore")
	for path, content := range map[string]string{
		filepath.Join(dir, "compose.yaml"): "name: proj\nservices:\n  web:\n    build: ./app\n    volumes: [./app:/app]\n",
		ignore:                             "*.log\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := &Daemon{bus: event.NewBus(10)}
	s := &session{d: d, cfg: &Config{Compose: compose.Options{WorkingDir: dir, Environ: []string{}}},
		project: &compose.Project{WorkingDir: dir}, log: hclog.NewNullLogger(), workers: map[string]*worker{}}
	ctx := context.Background()
	batch := watch.Batch{Paths: []string{ignore}, Settled: true, First: time.Now()}

	if err := os.WriteFile(ignore, []byte("*.log\n[\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := s.handle(ctx, batch, []string{ignore}); p != nil {
		t.Fatal("a broken .dockerignore replaced the rules in force")
	}
	var invalid []string
	for _, e := range d.bus.History() {
		if e.Type == event.ConfigInvalid {
			invalid = append(invalid, e.Error)
		}
	}
	if len(invalid) != 1 || !strings.Contains(invalid[0], `app/.dockerignore: service "web": pattern "["`) {
		t.Errorf("config_invalid events %q, want one naming app/.dockerignore and the pattern", invalid)
	}

	if err := os.WriteFile(ignore, []byte("*.log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if p := s.handle(ctx, batch, []string{ignore}); p == nil || len(p.Services) != 1 || !p.Services[0].Watch {
		t.Errorf("the fixed .dockerignore did not reload the rules: %+v", p)
	}
}
