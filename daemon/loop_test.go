package daemon

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/devdtool/devd/plan"
	filesync "github.com/devdtool/devd/sync"
	"github.com/hashicorp/go-hclog"
)

func TestLoopGuardStopsSelfTriggeredRestarts(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newLoopGuard()
	g.now = func() time.Time { return now }
	log := hclog.NewNullLogger()

	selfWrite := plan.Work{Service: "api", Restart: true, Reasons: []string{"api/startup.log"}, PathCount: 1}

	// A save restarts the service, and from then on the service writes the
	// same file right after each restart.
	g.observe(g.filter(selfWrite, false, log, nil), false)
	g.restarted()
	for i := 0; i < loopLimit; i++ {
		now = now.Add(loopWindow / 3)
		w := g.filter(selfWrite, false, log, nil)
		if !w.Restart {
			t.Fatalf("restart %d was suppressed before the limit", i+1)
		}
		g.observe(w, false)
		g.restarted()
	}

	if w := g.filter(selfWrite, false, log, nil); w.Restart {
		t.Error("the looping path still restarts the service after the limit")
	}
	if w := g.filter(selfWrite, false, log, nil); len(w.Reasons) != 1 {
		t.Error("the looping path's change was dropped instead of synced")
	}
	other := plan.Work{Service: "api", Restart: true, Reasons: []string{"api/server.js"}, PathCount: 1}
	if w := g.filter(other, false, log, nil); !w.Restart {
		t.Error("another path no longer restarts the service")
	}

	// Later, well after the last restart, a person edits the looping file.
	now = now.Add(10 * loopWindow)
	if w := g.filter(selfWrite, false, log, nil); !w.Restart {
		t.Error("an edit of the looping path long after a restart does not restart the service")
	}
}

func TestLoopGuardIgnoresHumanPace(t *testing.T) {
	now := time.Unix(1000, 0)
	g := newLoopGuard()
	g.now = func() time.Time { return now }
	log := hclog.NewNullLogger()
	save := plan.Work{Service: "api", Restart: true, Reasons: []string{"api/server.js"}, PathCount: 1}

	// Many changes while one restart is under way count once.
	for i := 0; i < 3*loopLimit; i++ {
		g.observe(save, true)
	}
	if w := g.filter(save, true, log, nil); !w.Restart {
		t.Fatal("changes during a single restart tripped the guard")
	}
	g.restarted()
	now = now.Add(2 * loopWindow)

	// Saves that come well after each restart never count.
	for i := 0; i < 3*loopLimit; i++ {
		w := g.filter(save, false, log, nil)
		if !w.Restart {
			t.Fatalf("save %d was suppressed", i+1)
		}
		g.restarted()
		now = now.Add(2 * loopWindow)
		g.observe(w, false)
	}
}

func TestLoopGuardLeavesSyncedPathsAlone(t *testing.T) {
	synced := plan.Work{
		Service: "notification", Restart: true, PathCount: 2,
		Reasons: []string{"notification/message.js", "notification/startup.log"},
		Changes: []filesync.Change{{HostPath: filepath.Join("/p", "notification", "message.js")}},
	}
	got := writableByContainer(synced)
	if want := []string{"notification/startup.log"}; !slices.Equal(got.Reasons, want) || got.PathCount != 1 {
		t.Errorf("guarded reasons %q and %d paths, want %q and 1", got.Reasons, got.PathCount, want)
	}
	if !got.Restart {
		t.Error("the guarded work lost its restart")
	}

	// Saves of a synced file right after each restart, past the limit,
	// keep restarting the service.
	now := time.Unix(1000, 0)
	g := newLoopGuard()
	g.now = func() time.Time { return now }
	save := plan.Work{Service: "notification", Restart: true, PathCount: 1, Reasons: []string{"notification/message.js"},
		Changes: []filesync.Change{{HostPath: "/p/notification/message.js"}}}
	for i := 0; i < 2*loopLimit; i++ {
		now = now.Add(loopWindow / 3)
		guarded := writableByContainer(save)
		if w := g.filter(guarded, false, hclog.NewNullLogger(), nil); !w.Restart {
			t.Fatalf("save %d of a synced file was taken for a loop", i+1)
		}
		g.observe(guarded, false)
		g.restarted()
	}
}
