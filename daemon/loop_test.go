package daemon

import (
	"testing"
	"time"

	"github.com/devdtool/devd/plan"
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
