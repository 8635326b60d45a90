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
// again right after each restart and from then on ignores that path's
// changes when they come right after a restart. A change to it at any
// other time still restarts the service, so a person editing that file is
// never ignored.
const (
	// loopWindow is how soon after a restart a change counts as caused by it.
	loopWindow = time.Second
	// loopLimit is how many restarts in a row a path may cause that way.
	// A person rarely saves one file within a second of each of 20
	// restarts in a row; a real loop gets there within a minute. A false
	// alarm costs a lost restart, a late one only wasted restarts, so the
	// limit errs on the high side.
	loopLimit = 20
)

// loopGuard is safe for concurrent use.
type loopGuard struct {
	mu          sync.Mutex
	lastRestart time.Time       // guarded by mu; when the last restart ended
	streak      map[string]int  // guarded by mu; consecutive restarts caused per path
	counted     map[string]bool // guarded by mu; paths counted since the last restart
	looping     map[string]bool // guarded by mu; paths found to loop
	now         func() time.Time
}

func newLoopGuard() *loopGuard {
	return &loopGuard{
		streak:  make(map[string]int),
		counted: make(map[string]bool),
		looping: make(map[string]bool),
		now:     time.Now,
	}
}

// soon reports whether a change now counts as caused by the last restart.
// restarting tells whether a restart is under way. The caller holds mu.
func (g *loopGuard) soon(restarting bool) bool {
	return restarting || (!g.lastRestart.IsZero() && g.now().Sub(g.lastRestart) < loopWindow)
}

// observe records work that arrives.
func (g *loopGuard) observe(work plan.Work, restarting bool) {
	if !work.Restart {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()

	if !g.soon(restarting) {
		clear(g.streak)
		return
	}
	// A path counts once per restart, however often it changes meanwhile.
	for _, p := range work.Reasons {
		if !g.counted[p] {
			g.counted[p] = true
			g.streak[p]++
		}
	}
}

// restarted records the end of a restart.
func (g *loopGuard) restarted() {
	g.mu.Lock()
	g.lastRestart = g.now()
	clear(g.counted)
	g.mu.Unlock()
}

// filter marks paths whose streak reached the limit as looping, logging
// each once, and takes the restart away from work whose every reason is a
// looping path changed right after a restart. The files are still synced.
func (g *loopGuard) filter(work plan.Work, restarting bool, log hclog.Logger, publish func(event.Event)) plan.Work {
	g.mu.Lock()
	defer g.mu.Unlock()

	for p, n := range g.streak {
		if n >= loopLimit && !g.looping[p] {
			g.looping[p] = true
			log.Error("service keeps restarting because it changes a file in its own watched folder; "+
				"changes to this path right after a restart no longer restart it; "+
				"to stop watching it, add it to x-devd.ignore, develop.watch ignore or the build context's .dockerignore, "+
				"or have the service write it outside the watched folder",
				"path", p, "restarts", n)
			if publish != nil {
				publish(event.Event{Type: event.LoopStopped, Paths: []string{p},
					Reason: "the service changes this path every time it starts"})
			}
		}
	}
	if !work.Restart || len(work.Reasons) == 0 || len(g.looping) == 0 || !g.soon(restarting) {
		return work
	}
	// Reasons hold at most plan.MaxReasons paths: work with more paths than
	// that changed something else too.
	if work.PathCount > len(work.Reasons) {
		return work
	}
	for _, r := range work.Reasons {
		if !g.looping[r] {
			return work
		}
	}
	work.Restart = false
	return work
}
