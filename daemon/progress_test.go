package daemon

import (
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/event"
	filesync "github.com/devdtool/devd/sync"
)

// eventLog collects published events.
type eventLog struct {
	mu     sync.Mutex
	events []event.Event
}

func (l *eventLog) publish(e event.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) all() []event.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]event.Event(nil), l.events...)
}

func TestProgressReporterPacesAndReachesTheTotal(t *testing.T) {
	pacing := progressPacing{delay: 40 * time.Millisecond, interval: 10 * time.Millisecond, heartbeat: 30 * time.Millisecond}
	var log eventLog
	p := startProgress(log.publish, "shop-api-1", pacing)

	p.report(filesync.Progress{Phase: filesync.PhaseComparing})
	time.Sleep(2 * pacing.delay)
	const total = 200
	for i := range total {
		p.report(filesync.Progress{Phase: filesync.PhaseCopying, Files: i, TotalFiles: total, Bytes: int64(i), TotalBytes: total})
		time.Sleep(200 * time.Microsecond)
	}
	p.report(filesync.Progress{Phase: filesync.PhaseDone, Files: total, TotalFiles: total, Bytes: total, TotalBytes: total})
	p.stop()

	events := log.all()
	if len(events) < 3 {
		t.Fatalf("got %d events, want progress while comparing, while copying and at the end: %+v", len(events), events)
	}
	phases := map[string]bool{}
	for i, e := range events {
		if e.Type != event.SyncProgress || e.Container != "shop-api-1" {
			t.Errorf("event %d is %+v, want sync_progress for shop-api-1", i, e)
		}
		phases[e.Phase] = true
		last := i == len(events)-1
		if !last && e.DurationMS < pacing.delay.Milliseconds() {
			t.Errorf("event %d came %d ms after the start, before the delay of %s", i, e.DurationMS, pacing.delay)
		}
		if i > 0 && !last && e.DurationMS-events[i-1].DurationMS < pacing.interval.Milliseconds()-1 {
			t.Errorf("events %d and %d are %d ms apart, closer than %s", i-1, i, e.DurationMS-events[i-1].DurationMS, pacing.interval)
		}
		if last != (e.Phase == "done") {
			t.Errorf("event %d has phase %q; only the last may be done", i, e.Phase)
		}
	}
	if !phases["comparing"] || !phases["copying"] {
		t.Errorf("phases seen %v, want comparing and copying", phases)
	}
	last := events[len(events)-1]
	if last.Files != total || last.TotalFiles != total || last.Bytes != total || last.TotalBytes != total {
		t.Errorf("last event %+v, want %d of %d files and bytes", last, total, total)
	}
}

func TestProgressReporterHeartbeat(t *testing.T) {
	pacing := progressPacing{delay: 0, interval: 5 * time.Millisecond, heartbeat: 20 * time.Millisecond}
	var log eventLog
	p := startProgress(log.publish, "c", pacing)
	p.report(filesync.Progress{Phase: filesync.PhaseComparing})
	time.Sleep(200 * time.Millisecond)
	p.stop()
	// The unchanged progress is published again, but not at every tick.
	if n := len(log.all()); n < 2 || n > 20 {
		t.Errorf("got %d events in 200 ms of unchanged progress, want one per heartbeat of %s", n, pacing.heartbeat)
	}
}

func TestProgressReporterQuickReconciliation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		total int
		want  int
	}{
		{"with copies", 3, 1},
		{"nothing to do", 0, 0},
	} {
		var log eventLog
		p := startProgress(log.publish, "c", defaultPacing)
		p.report(filesync.Progress{Phase: filesync.PhaseComparing})
		p.report(filesync.Progress{Phase: filesync.PhaseDone, Files: tc.total, TotalFiles: tc.total})
		p.stop()
		events := log.all()
		if len(events) != tc.want {
			t.Fatalf("%s: got %d events, want %d: %+v", tc.name, len(events), tc.want, events)
		}
		if tc.want == 1 && (events[0].Phase != "done" || events[0].Files != tc.total || events[0].TotalFiles != tc.total) {
			t.Errorf("%s: event %+v, want done with %d of %d files", tc.name, events[0], tc.total, tc.total)
		}
	}
}
