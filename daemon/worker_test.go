package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
	"github.com/hashicorp/go-hclog"
)

// waitTimeout bounds every wait on a condition in these tests.
const waitTimeout = 5 * time.Second

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func running(id, service string) engine.Container {
	return engine.Container{ID: id, Name: service + "-1", Service: service, Number: 1, Running: true, State: "running"}
}

// startWorker runs a registry and a worker for service "api" on the fake
// engine, and stops both when the test ends.
func startWorker(t *testing.T, eng *fakeEngine) (*worker, *registry) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})

	svc := compose.Service{Name: "api", Watch: true, Restart: compose.RestartMode{Kind: compose.RestartContainer}}
	var w *worker
	reg := newRegistry(eng, "proj", hclog.NewNullLogger(), func(*engine.Event) {
		if w != nil {
			w.poke()
		}
	}, nil)
	w = newWorker(svc, nil, eng, reg, hclog.NewNullLogger(), event.NewBus(100), nil)

	wg.Add(2)
	go func() { defer wg.Done(); reg.run(ctx) }()
	go func() { defer wg.Done(); w.run(ctx) }()
	waitUntil(t, "the registry to connect", reg.Connected)
	return w, reg
}

func restartWork(reason string) plan.Work {
	return plan.Work{Service: "api", Restart: true, Reasons: []string{reason}, PathCount: 1}
}

func TestChangeDuringRestartLeadsToOneMore(t *testing.T) {
	eng := newFakeEngine(running("c1", "api"))
	hold := eng.holdRestarts()
	w, _ := startWorker(t, eng)

	w.add(restartWork("a.js"))
	<-eng.restarting
	if !w.Restarting() {
		t.Error("worker does not report the restart under way")
	}

	// Three changes while the first restart is held open.
	w.add(restartWork("b.js"))
	w.add(restartWork("c.js"))
	w.add(restartWork("a.js"))
	close(hold)

	waitUntil(t, "the second restart", func() bool { return eng.restartCount() >= 2 })
	waitUntil(t, "the worker to go idle", func() bool { return !w.Restarting() && w.Pending().Empty() })
	if n := eng.restartCount(); n != 2 {
		t.Errorf("restarts = %d, want 2: one for the first change, one for all changes during it", n)
	}
}

func TestWorkWaitsForContainer(t *testing.T) {
	eng := newFakeEngine()
	w, _ := startWorker(t, eng)

	w.add(restartWork("a.js"))
	waitUntil(t, "the work to be kept", func() bool { return !w.Pending().Empty() })
	if n := eng.restartCount(); n != 0 {
		t.Fatalf("restarted %d times with no container", n)
	}

	// The container starts: the registry sees the event and the kept work
	// is applied once.
	eng.setContainers(running("c1", "api"))
	eng.events <- engine.Event{ContainerID: "c1", Action: "start", Service: "api", Time: time.Now()}

	waitUntil(t, "the kept restart", func() bool { return eng.restartCount() == 1 })
	waitUntil(t, "the worker to go idle", func() bool { return w.Pending().Empty() })
	if n := eng.restartCount(); n != 1 {
		t.Errorf("restarts = %d, want 1", n)
	}
}

func TestRegistryReconnectsAfterStreamFailure(t *testing.T) {
	eng := newFakeEngine()
	eng.failNext = 2
	eng.setContainers(running("c1", "api"))

	_, reg := startWorker(t, eng)
	// The registry counts as connected for a moment before it reads a
	// failed stream's error, so startWorker may return before the retries.
	waitUntil(t, "two failed streams, then one that works", func() bool {
		return eng.subscribeCount() >= 3 && reg.Connected()
	})
	if got := reg.Running("api"); len(got) != 1 || got[0].ID != "c1" {
		t.Errorf("Running(api) after reconnect = %v, want c1", got)
	}
}

func TestRegistryForgetsDestroyedContainer(t *testing.T) {
	eng := newFakeEngine(running("c1", "api"))
	_, reg := startWorker(t, eng)

	eng.setContainers(running("c2", "api"))
	eng.events <- engine.Event{ContainerID: "c1", Action: "destroy", Service: "api", Time: time.Now()}
	eng.events <- engine.Event{ContainerID: "c2", Action: "start", Service: "api", Time: time.Now()}

	waitUntil(t, "the recreated container", func() bool {
		got := reg.Running("api")
		return len(got) == 1 && got[0].ID == "c2"
	})
}

func TestAdoptCrashedAtStart(t *testing.T) {
	crashed := engine.Container{ID: "c1", Name: "api-1", Service: "api", State: "exited", ExitCode: 3}
	stopped := engine.Container{ID: "c2", Name: "api-2", Service: "api", State: "exited", ExitCode: 143}
	eng := newFakeEngine(crashed, stopped)
	w, _ := startWorker(t, eng)
	w.adoptCrashed()

	got := w.crashedContainers()
	if len(got) != 1 || got[0].ID != "c1" {
		t.Fatalf("crashed containers = %v, want c1 only (c2 was stopped by a signal)", got)
	}
	// The next change starts it again.
	w.add(plan.Work{Service: "api", Restart: true, Reasons: []string{"api/a.js"}, PathCount: 1})
	waitUntil(t, "the crashed container to start", func() bool {
		eng.mu.Lock()
		defer eng.mu.Unlock()
		return len(eng.restarts) == 1 && eng.restarts[0] == "c1"
	})
}

func TestWaitRejectsPausedService(t *testing.T) {
	eng := newFakeEngine(running("c1", "api"))
	w, _ := startWorker(t, eng)
	w.state.mu.Lock()
	w.state.paused = true
	w.state.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := wait(ctx, w, plan.Work{Service: "api", Restart: true, Requested: "requested with devd restart"})
	if !errors.Is(err, control.ErrPaused) {
		t.Fatalf("restart of a paused service: %v, want ErrPaused at once", err)
	}
	if !strings.Contains(err.Error(), "devd resume api") {
		t.Errorf("error %q does not say how to go on", err)
	}
	if !w.Pending().Empty() {
		t.Error("the rejected restart was queued anyway")
	}
}

// TestNoWaitingBeforeFirstListing checks that work a reload carries over
// does not report a missing container before the new registry has listed
// the containers, and does once the listing shows none.
func TestNoWaitingBeforeFirstListing(t *testing.T) {
	eng := newFakeEngine()
	bus := event.NewBus(100)
	reg := newRegistry(eng, "proj", hclog.NewNullLogger(), func(*engine.Event) {}, nil)
	svc := compose.Service{Name: "api", Watch: true, Restart: compose.RestartMode{Kind: compose.RestartContainer}}
	w := newWorker(svc, nil, eng, reg, hclog.NewNullLogger(), bus, nil)
	waiting := func() int {
		n := 0
		for _, e := range bus.History() {
			if e.Type == event.ContainerWaiting {
				n++
			}
		}
		return n
	}

	if err := w.apply(context.Background(), restartWork("a.js")); !errors.Is(err, errNoContainer) {
		t.Fatalf("apply before the listing = %v, want errNoContainer", err)
	}
	if n := waiting(); n != 0 {
		t.Errorf("%d waiting events before the registry listed the containers, want 0", n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); reg.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the registry to list the containers", reg.Listed)

	if err := w.apply(context.Background(), restartWork("a.js")); !errors.Is(err, errNoContainer) {
		t.Fatalf("apply with no container = %v, want errNoContainer", err)
	}
	if n := waiting(); n != 1 {
		t.Errorf("%d waiting events once the listing shows no container, want 1", n)
	}
}

// TestRestartOutlivesCancel cancels the worker's context while a restart
// is under way, as a reload does. The restart must end normally, so the
// work is not kept and the container is not restarted a second time.
func TestRestartOutlivesCancel(t *testing.T) {
	c := running("c1", "api")
	eng := newFakeEngine(c)
	hold := eng.holdRestarts()
	svc := compose.Service{Name: "api", Watch: true, Restart: compose.RestartMode{Kind: compose.RestartSignal, Signal: "SIGHUP"}}
	w := newWorker(svc, nil, eng, nil, hclog.NewNullLogger(), event.NewBus(100), nil)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.restart(ctx, []engine.Container{c}, restartWork("a.js")) }()
	<-eng.restarting
	cancel()
	close(hold)

	if err := <-done; err != nil {
		t.Errorf("restart cut short by the cancel: %v", err)
	}
	if n := eng.restartCount(); n != 1 {
		t.Errorf("signals sent = %d, want 1", n)
	}
}

// TestRebuildWaitsForStoppedService checks that a rebuild of a service
// stopped on purpose is kept until it runs: docker compose up would start
// it again.
func TestRebuildWaitsForStoppedService(t *testing.T) {
	stopped := engine.Container{ID: "c1", Name: "api-1", Service: "api", Number: 1, State: "exited"}
	eng := newFakeEngine(stopped)
	w, reg := startWorker(t, eng)
	waitUntil(t, "the registry to list the containers", reg.Listed)

	err := w.apply(context.Background(), plan.Work{Service: "api", Rebuild: true, Reasons: []string{"package.json"}, PathCount: 1})
	if !errors.Is(err, errNoContainer) {
		t.Errorf("apply of a rebuild for a stopped service = %v, want errNoContainer", err)
	}
}

// TestSyncCutShortIsNoFailure cancels the context of a copy, as a reload
// does. The work is kept for the next session, so no failure is reported.
func TestSyncCutShortIsNoFailure(t *testing.T) {
	c := running("c1", "api")
	eng := newFakeEngine(c)
	bus := event.NewBus(100)
	svc := compose.Service{Name: "api", Watch: true}
	w := newWorker(svc, nil, eng, nil, hclog.NewNullLogger(), bus, nil)

	root := t.TempDir()
	p := filepath.Join(root, "a.js")
	if err := os.WriteFile(p, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/app"}
	work := plan.Work{Service: "api", Changes: []filesync.Change{{Tree: tree, HostPath: p}}, Reasons: []string{"a.js"}, PathCount: 1}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	eng.failCopies(context.Canceled)
	err := w.sync(ctx, []engine.Container{c}, work)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("sync with a cancelled context = %v, want context.Canceled", err)
	}
	for _, e := range bus.History() {
		if e.Type == event.SyncFailed {
			t.Errorf("a copy cut short by a cancel was reported as failed: %s", e.Error)
		}
	}
}

// TestNoWaitingWithoutChanges checks that the comparison devd makes at
// start does not say changes wait when a service is stopped: there are
// none.
func TestNoWaitingWithoutChanges(t *testing.T) {
	eng := newFakeEngine()
	bus := event.NewBus(100)
	reg := newRegistry(eng, "proj", hclog.NewNullLogger(), func(*engine.Event) {}, nil)
	svc := compose.Service{Name: "api", Watch: true}
	w := newWorker(svc, nil, eng, reg, hclog.NewNullLogger(), bus, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); reg.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitUntil(t, "the registry to list the containers", reg.Listed)

	err := w.apply(context.Background(), plan.Work{Service: "api", Reconcile: true, Requested: "devd compared the containers with the host"})
	if !errors.Is(err, errNoContainer) {
		t.Fatalf("apply with no container = %v, want errNoContainer", err)
	}
	for _, e := range bus.History() {
		if e.Type == event.ContainerWaiting {
			t.Errorf("a comparison with no changed path reported waiting changes: %+v", e)
		}
	}
}
