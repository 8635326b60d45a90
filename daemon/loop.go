package daemon

import (
	"sync"
	"time"

	"github.com/devdtool/devd/event"
	"github.com/devdtool/devd/plan"
	"github.com/hashicorp/go-hclog"
)

// A service that writes into its own watched folder when it starts restarts
// itself for ever. The loop guard notices a path that changes again and
// again right after each restart and stops that path from restarting the
// service.
const (
	// loopWindow is how soon after a restart a change counts as caused by it.
	loopWindow = 1500 * time.Millisecond
	// loopLimit is how many restarts in a row a path may cause that way.
	loopLimit = 8
)

// loopGuard is safe for concurrent use.
type loopGuard struct {
	mu          sync.Mutex
	lastRestart time.Time       // guarded by mu; when the last restart ended
	streak      map[string]int  // guarded by mu; consecutive restarts caused per path
	suppressed  map[string]bool // guarded by mu
	now         func() time.Time
}

func newLoopGuard() *loopGuard {
	return &loopGuard{
		streak:     make(map[string]int),
		suppressed: make(map[string]bool),
		now:        time.Now,
	}
}

// observe records work that arrives; restarting tells whether a restart is
// under way, which counts as "right after".
func (g *loopGuard) observe(work plan.Work, restarting bool) {
	if !work.Restart {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()

	soon := restarting || (!g.lastRestart.IsZero() && g.now().Sub(g.lastRestart) < loopWindow)
	if !soon {
		clear(g.streak)
		return
	}
	for _, p := range work.Reasons {
		g.streak[p]++
	}
}

// restarted records the end of a restart.
func (g *loopGuard) restarted() {
	g.mu.Lock()
	g.lastRestart = g.now()
	g.mu.Unlock()
}

// filter drops suppressed paths from the work and suppresses paths whose
// streak reached the limit, logging each once.
func (g *loopGuard) filter(work plan.Work, log hclog.Logger, publish func(event.Event)) plan.Work {
	g.mu.Lock()
	defer g.mu.Unlock()

	for p, n := range g.streak {
		if n >= loopLimit && !g.suppressed[p] {
			g.suppressed[p] = true
			log.Error("service keeps restarting because it changes a file in its own watched folder; "+
				"changes to this path no longer restart it (add it to develop.watch ignore or .dockerignore)",
				"path", p, "restarts", n)
			if publish != nil {
				publish(event.Event{Type: event.LoopStopped, Paths: []string{p},
					Reason: "the service changes this path every time it starts"})
			}
		}
	}
	if len(g.suppressed) == 0 || len(work.Reasons) == 0 {
		return work
	}

	kept := work
	kept.Reasons = nil
	kept.Changes = nil
	kept.PathCount = 0
	kept.Restart = false
	for _, r := range work.Reasons {
		if !g.suppressed[r] {
			kept.Reasons = append(kept.Reasons, r)
		}
	}
	// Reasons hold at most plan.MaxReasons paths, so a work with more paths
	// than that keeps its restart unless every listed reason is suppressed.
	if len(kept.Reasons) > 0 || work.PathCount > len(work.Reasons) {
		kept.Restart = work.Restart
		kept.PathCount = work.PathCount - (len(work.Reasons) - len(kept.Reasons))
	}
	kept.Changes = work.Changes
	if kept.PathCount == 0 && len(kept.Changes) > 0 {
		kept.PathCount = len(kept.Changes)
	}
	return kept
}
