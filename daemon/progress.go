package daemon

import (
	"sync"
	"time"

	"github.com/devdtool/devd/event"
	filesync "github.com/devdtool/devd/sync"
)

// Pacing of SyncProgress events: none during the first progressDelay of a
// reconciliation, then at most one per progressInterval when something
// changed, and one per progressHeartbeat when nothing did, so that a long
// comparison still shows that devd works.
const (
	progressDelay     = time.Second
	progressInterval  = 250 * time.Millisecond
	progressHeartbeat = time.Second
)

// progressPacing holds the pacing of a progressReporter; tests shorten it.
type progressPacing struct {
	delay, interval, heartbeat time.Duration
}

var defaultPacing = progressPacing{delay: progressDelay, interval: progressInterval, heartbeat: progressHeartbeat}

// progressReporter turns the progress of one reconciliation into
// SyncProgress events. report only records the progress; a ticker
// publishes it, so that a reconciliation that reports once per file costs
// little. The done report is published at once, before the caller goes on
// to publish SyncDone, when the reconciliation had anything to do or
// progress was published before.
type progressReporter struct {
	publish   func(event.Event)
	container string
	pacing    progressPacing
	start     time.Time
	stopTick  chan struct{}
	ticking   sync.WaitGroup

	mu        sync.Mutex
	latest    filesync.Progress // guarded by mu
	published filesync.Progress // guarded by mu; the last published
	lastSent  time.Time         // guarded by mu; zero before the first event
	finished  bool              // guarded by mu; done was reported
}

// startProgress starts reporting a reconciliation into a container. The
// caller must call stop when the reconciliation returns.
func startProgress(publish func(event.Event), container string, pacing progressPacing) *progressReporter {
	p := &progressReporter{
		publish:   publish,
		container: container,
		pacing:    pacing,
		start:     time.Now(),
		stopTick:  make(chan struct{}),
	}
	p.ticking.Add(1)
	go p.tick()
	return p
}

// report records the reconciliation's progress; it is a filesync.ProgressFunc.
func (p *progressReporter) report(pr filesync.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.latest = pr
	if pr.Phase != filesync.PhaseDone {
		return
	}
	p.finished = true
	if !p.lastSent.IsZero() || pr.TotalFiles > 0 {
		p.sendLocked(time.Now())
	}
}

// stop ends the ticker. A reconciliation that never reported done leaves
// no final event: the caller's own events follow.
func (p *progressReporter) stop() {
	close(p.stopTick)
	p.ticking.Wait()
}

func (p *progressReporter) tick() {
	defer p.ticking.Done()
	t := time.NewTicker(p.pacing.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stopTick:
			return
		case now := <-t.C:
			p.mu.Lock()
			due := !p.finished && now.Sub(p.start) >= p.pacing.delay &&
				(p.latest != p.published || p.lastSent.IsZero() || now.Sub(p.lastSent) >= p.pacing.heartbeat)
			if due {
				p.sendLocked(now)
			}
			p.mu.Unlock()
		}
	}
}

// sendLocked publishes the latest progress. The bus never blocks, so it is
// called with mu held, which keeps events in order.
func (p *progressReporter) sendLocked(now time.Time) {
	pr := p.latest
	p.publish(event.Event{
		Type:       event.SyncProgress,
		Container:  p.container,
		Phase:      string(pr.Phase),
		Files:      pr.Files,
		TotalFiles: pr.TotalFiles,
		Bytes:      pr.Bytes,
		TotalBytes: pr.TotalBytes,
		DurationMS: now.Sub(p.start).Milliseconds(),
	})
	p.published = pr
	p.lastSent = now
}
