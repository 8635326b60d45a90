package daemon

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/supervisor"
	"github.com/devdtool/devd/up"
	"github.com/hashicorp/go-hclog"
)

// TestSignalRestartCountsAsProcessStart checks that a file changed after
// the container started, but before devd signalled its process, does not
// look unapplied again to the worker of a reloaded configuration.
func TestSignalRestartCountsAsProcessStart(t *testing.T) {
	c := running("c1", "api")
	c.StartedAt = time.Now().Add(-time.Hour)
	svc, rules := bindMountedService(t, compose.RestartMode{Kind: compose.RestartSignal, Signal: "SIGHUP"})
	eng := newFakeEngine(c)
	newWorkerOn := func(state *serviceState) *worker {
		return newWorker(svc, rules, eng, nil, hclog.NewNullLogger(), event.NewBus(100), state)
	}
	ctx := context.Background()
	state := &serviceState{}

	first := newWorkerOn(state)
	restart, err := first.reconcile(ctx, []engine.Container{c})
	if err != nil {
		t.Fatal(err)
	}
	if !restart {
		t.Fatal("a file changed after the container started does not restart it")
	}
	if err := first.restart(ctx, []engine.Container{c}, restartWork("server.js")); err != nil {
		t.Fatal(err)
	}
	if n := eng.restartCount(); n != 1 {
		t.Fatalf("signals sent = %d, want 1", n)
	}

	// A reload starts a new worker on the same state.
	restart, err = newWorkerOn(state).reconcile(ctx, []engine.Container{c})
	if err != nil {
		t.Fatal(err)
	}
	if restart {
		t.Error("the reloaded worker restarts again for a file the signalled process has seen")
	}

	// A devd that starts afresh has only the container's start time.
	restart, err = newWorkerOn(&serviceState{}).reconcile(ctx, []engine.Container{c})
	if err != nil {
		t.Fatal(err)
	}
	if !restart {
		t.Error("a new devd does not restart for a file changed after the container started")
	}
}

// TestSupervisedStartCountsAsProcessStart checks that under devd's
// supervisor a freshly started devd compares watched files with the
// command's start that the supervisor reports, not the container's.
func TestSupervisedStartCountsAsProcessStart(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	c := running("0123456789abcdef", "api")
	c.Project = "proj"
	c.Labels = map[string]string{supervisorLabel: "1"}
	c.StartedAt = time.Now().Add(-time.Hour)

	runDir, err := up.RunDir(c.Project, c.Service)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(runDir, c.ID[:12]+".sock"))
	if err != nil {
		t.Fatal(err)
	}
	commandStarted := time.Now().Add(time.Minute)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(supervisor.StatusResult{Running: true, PID: 7, Started: commandStarted})
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	svc, rules := bindMountedService(t, compose.RestartMode{})
	w := newWorker(svc, rules, newFakeEngine(c), nil, hclog.NewNullLogger(), event.NewBus(100), nil)
	restart, err := w.reconcile(context.Background(), []engine.Container{c})
	if err != nil {
		t.Fatal(err)
	}
	if restart {
		t.Error("devd restarts for a file older than the command the supervisor started")
	}

	// The same container without a supervisor compares with its own start.
	delete(c.Labels, supervisorLabel)
	restart, err = w.reconcile(context.Background(), []engine.Container{c})
	if err != nil {
		t.Fatal(err)
	}
	if !restart {
		t.Error("devd does not restart for a file newer than the container's start")
	}
}

// bindMountedService returns service "api" with one bind-mounted restart
// trigger over a new folder holding server.js, written now, and its rules.
// A zero restart mode leaves the mode unset.
func bindMountedService(t *testing.T, restart compose.RestartMode) (compose.Service, []plan.Rule) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "server.js"), []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc := compose.Service{
		Name:       "api",
		Watch:      true,
		Restart:    restart,
		RestartSet: restart != compose.RestartMode{},
		Triggers: []compose.Trigger{{
			Source:      compose.SourceBindMount,
			Action:      compose.ActionRestart,
			Path:        dir,
			Target:      "/app",
			BindMounted: true,
		}},
	}
	rules, err := plan.Compile([]compose.Service{svc})
	if err != nil {
		t.Fatal(err)
	}
	return svc, rules[0].Rules
}
