package daemon

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
)

// Stopping warns only about file changes that were not applied: work that
// waits for a container to start, with no changed path, loses nothing.
func TestLogUnappliedOnlyForChanges(t *testing.T) {
	var buf bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &buf, Level: hclog.Warn})
	tree := &filesync.Tree{HostRoot: "/p/api", ContainerRoot: "/app"}
	logUnapplied(log, []plan.Work{
		{Service: "waiting", Reconcile: true, Requested: "devd compared the containers with the host"},
		{Service: "asked", Restart: true, Requested: "devd restart"},
		{Service: "edited", Restart: true, PathCount: 2, Reasons: []string{"api/a.js", "api/b.js"}},
		{Service: "copied", Changes: []filesync.Change{{Tree: tree, HostPath: "/p/api/a.js"}}},
	})
	out := buf.String()
	for _, svc := range []string{"edited", "copied"} {
		if !strings.Contains(out, "service="+svc) {
			t.Errorf("no warning for %s:\n%s", svc, out)
		}
	}
	for _, svc := range []string{"waiting", "asked"} {
		if strings.Contains(out, "service="+svc) {
			t.Errorf("a warning for %s, which has no changed path:\n%s", svc, out)
		}
	}
}

// TestReloadKeepsFollowingOutput reloads the configuration and checks that
// the new session follows the containers' output from where the old one
// stopped, so lines written during the reload are not lost.
func TestReloadKeepsFollowingOutput(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	composeFile := filepath.Join(dir, "compose.yaml")
	content := "name: proj\nservices:\n  web:\n    build: ./app\n    volumes: [./app:/app]\n"
	if err := os.MkdirAll(filepath.Join(dir, "app"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(composeFile, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := compose.Options{WorkingDir: dir, Environ: []string{}}
	project, err := compose.Load(context.Background(), opts, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	c := engine.Container{ID: "c1", Name: "proj-web-1", Service: "web", Project: "proj", Number: 1,
		Running: true, State: "running", StartedAt: time.Now().Add(-time.Hour)}
	eng := newFakeEngine(c)
	d := New(Config{Compose: opts}, project, eng)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitUntil(t, "the first session to follow the output", func() bool { return len(eng.followedSince()) == 1 })

	if err := os.WriteFile(composeFile, []byte(content+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	reloaded := func() (time.Time, bool) {
		for _, e := range d.bus.History() {
			if e.Type == event.ConfigReloaded {
				return e.Time, true
			}
		}
		return time.Time{}, false
	}
	waitUntil(t, "the reload", func() bool { _, ok := reloaded(); return ok })
	waitUntil(t, "the second session to follow the output", func() bool { return len(eng.followedSince()) == 2 })

	at, _ := reloaded()
	since := eng.followedSince()
	if !since[1].After(since[0]) {
		t.Errorf("the second session follows from %v, not after the first's %v", since[1], since[0])
	}
	if !since[1].Before(at) {
		t.Errorf("the second session follows from %v, after the reload at %v: output written meanwhile is lost", since[1], at)
	}
}
