package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
	"github.com/hashicorp/go-hclog"
)

// logBuffer collects JSON log lines. It is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// count returns how many entries have the message msg at the level.
func (b *logBuffer) count(level, msg string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, line := range strings.Split(b.buf.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["@level"] == level && m["@message"] == msg {
			n++
		}
	}
	return n
}

const (
	msgNoSpace    = "container out of space; the changes are kept and retried until there is room"
	msgSpaceAgain = "container has space again; kept changes applied"
)

// TestOutOfSpaceReportedOnceAndRetried runs a worker against a fake engine
// whose copies fail as a full tmpfs volume makes the real engine fail.
func TestOutOfSpaceReportedOnceAndRetried(t *testing.T) {
	eng := newFakeEngine(running("c1", "api"))
	logs := &logBuffer{}
	log := hclog.New(&hclog.LoggerOptions{Output: logs, JSONFormat: true, Level: hclog.Debug})
	bus := event.NewBus(1000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	svc := compose.Service{Name: "api", Watch: true, Restart: compose.RestartMode{Kind: compose.RestartNone}}
	reg := newRegistry(eng, "proj", hclog.NewNullLogger(), func(*engine.Event) {}, nil)
	w := newWorker(svc, nil, eng, reg, log, bus, nil)
	w.retryMin, w.retryMax = time.Millisecond, 10*time.Millisecond
	wg.Add(2)
	go func() { defer wg.Done(); reg.run(ctx) }()
	go func() { defer wg.Done(); w.run(ctx) }()
	waitUntil(t, "the registry to connect", reg.Connected)

	root := t.TempDir()
	tree := &filesync.Tree{HostRoot: root, ContainerRoot: "/data/files"}
	change := func(name, content string) plan.Work {
		t.Helper()
		p := filepath.Join(root, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return plan.Work{Service: "api", Changes: []filesync.Change{{Tree: tree, HostPath: p}}, Reasons: []string{name}, PathCount: 1}
	}
	countEvents := func(typ event.Type) int {
		n := 0
		for _, e := range bus.History() {
			if e.Type == typ {
				n++
			}
		}
		return n
	}
	syncFailed := func() int { return countEvents(event.SyncFailed) }
	// As engine.Client reports a full file system.
	errFull := fmt.Errorf("copying to / in container c1 (api-1): %w: Error response from daemon: Error processing tar file(exit status 1): write /data/files/big.bin: no space left on device", engine.ErrNoSpace)

	eng.failCopies(errFull)
	w.add(change("big.bin", "big"))
	waitUntil(t, "several retries", func() bool { return eng.copyCount() >= 5 })
	// A change made meanwhile joins the kept one.
	w.add(change("later.js", "later"))
	before := eng.copyCount()
	waitUntil(t, "retries of both changes", func() bool { return eng.copyCount() >= before+5 })

	if n := logs.count("error", msgNoSpace); n != 1 {
		t.Errorf("%d error entries say the container is out of space after %d failed copies, want 1", n, eng.copyCount())
	}
	if n := syncFailed(); n != 1 {
		t.Errorf("%d sync_failed events, want 1", n)
	}
	if n := countEvents(event.SyncStarted); n != 1 {
		t.Errorf("%d sync_started events, want 1: the retries into the full container stay quiet", n)
	}
	if n := logs.count("warn", "changes not applied yet; retrying"); n != 0 {
		t.Errorf("%d generic retry warnings besides the out-of-space error, want 0", n)
	}
	var failed event.Event
	for _, e := range bus.History() {
		if e.Type == event.SyncFailed {
			failed = e
		}
	}
	for _, s := range []string{"/data/files in the container is out of space", "free space in the container", "bigger", "api-1"} {
		if !strings.Contains(failed.Error, s) {
			t.Errorf("sync_failed error %q does not say %q", failed.Error, s)
		}
	}
	if failed.Service != "api" {
		t.Errorf("sync_failed service = %q, want api", failed.Service)
	}
	if failed.Container != "api-1" {
		t.Errorf("sync_failed container = %q, want api-1", failed.Container)
	}
	if !strings.Contains(failed.Reason, "/data/files") {
		t.Errorf("sync_failed reason = %q, want the target /data/files", failed.Reason)
	}
	if errs := w.Stats().errors; len(errs) != 1 {
		t.Errorf("status keeps %d errors, want the out-of-space one once: %q", len(errs), errs)
	}

	// Space is freed: the kept changes land, and the worker logs that once.
	eng.failCopies(nil)
	waitUntil(t, "the kept changes to land", func() bool { return w.Pending().Empty() && len(eng.lastCopied()) > 0 })
	got := eng.lastCopied()
	for _, want := range []string{"data/files/big.bin", "data/files/later.js"} {
		if !slices.Contains(got, want) {
			t.Errorf("the copy after space was freed holds %q, want %s in it", got, want)
		}
	}
	waitUntil(t, "the recovery message", func() bool { return logs.count("info", msgSpaceAgain) == 1 })

	// A new episode is reported again.
	eng.failCopies(errFull)
	w.add(change("big.bin", "bigger"))
	waitUntil(t, "the second report", func() bool { return logs.count("error", msgNoSpace) == 2 })
	if n := syncFailed(); n != 2 {
		t.Errorf("%d sync_failed events after two episodes, want 2", n)
	}
}

// TestOtherCopyFailuresStillReported checks that a failure other than a
// full disk keeps its event at every try.
func TestOtherCopyFailuresStillReported(t *testing.T) {
	c := running("c1", "api")
	w := newWorker(compose.Service{Name: "api"}, nil, newFakeEngine(c), nil, hclog.NewNullLogger(), event.NewBus(10), nil)
	if w.outOfSpace(c, fmt.Errorf("copying: %w", os.ErrPermission)) {
		t.Error("outOfSpace took a permission error for a full disk")
	}
	full := fmt.Errorf("syncing: %w", &filesync.NoSpaceError{Target: "/app", Err: engine.ErrNoSpace})
	if !w.outOfSpace(c, full) {
		t.Error("outOfSpace did not recognise a NoSpaceError")
	}
	if !w.outOfSpace(c, full) {
		t.Error("outOfSpace did not recognise a NoSpaceError the second time")
	}
	if n := len(w.Stats().errors); n != 1 {
		t.Errorf("two failures of one episode recorded %d errors, want 1", n)
	}
}
