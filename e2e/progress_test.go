package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/event"
)

// TestSyncProgressEventsReachTheFileCount starts devd on a stack whose
// synced folder gained thousands of files while devd was not running: the
// reconciliation at start copies them and reports its progress on the
// event stream, ending with a count equal to what it copied.
func TestSyncProgressEventsReachTheFileCount(t *testing.T) {
	s := startStack(t)

	const folders, perFolder = 20, 400
	for d := range folders {
		for f := range perFolder {
			writeFile(t, filepath.Join(s.dir, "notification", "bulk", fmt.Sprintf("d%d", d), fmt.Sprintf("f%03d.txt", f)),
				strings.Repeat("x", 100+f))
		}
	}
	// The files, their folders and bulk/ itself.
	const want = folders*perFolder + folders + 1

	startDevd(t, s)
	events := exec.Command(devdBinary, "events", "--history", "notification")
	events.Dir = s.dir
	events.Env = s.env
	stdout, err := events.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := events.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = events.Process.Kill()
		_ = events.Wait()
	})
	seen := make(chan event.Event, 1000)
	go func() {
		defer close(seen)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				seen <- e
			}
		}
	}()

	var progress []event.Event
	var done *event.Event
	deadline := time.After(composeTimeout)
	for done == nil {
		select {
		case e, ok := <-seen:
			if !ok {
				t.Fatalf("devd events ended before the sync was done; progress events: %+v", progress)
			}
			switch {
			case e.Type == event.SyncProgress && e.Service == "notification":
				progress = append(progress, e)
			case e.Type == event.SyncDone && e.Service == "notification" && e.Files >= want:
				done = &e
			}
		case <-deadline:
			t.Fatalf("no sync of the new files within %s; progress events: %+v", composeTimeout, progress)
		}
	}

	if len(progress) == 0 {
		t.Fatal("the reconciliation published no sync_progress event")
	}
	last := progress[len(progress)-1]
	t.Logf("%d progress events; the sync took %d ms; last: %+v", len(progress), done.DurationMS, last)
	if last.Phase != "done" {
		t.Errorf("last progress event has phase %q, want done", last.Phase)
	}
	if last.Files != want || last.TotalFiles != want {
		t.Errorf("last progress event counts %d of %d files, want %d of %d", last.Files, last.TotalFiles, want, want)
	}
	if done.Files != want {
		t.Errorf("sync_done counts %d files, want %d", done.Files, want)
	}
	if last.Bytes != last.TotalBytes || last.Bytes != done.Bytes {
		t.Errorf("last progress event sent %d of %d bytes, sync_done %d; want all equal", last.Bytes, last.TotalBytes, done.Bytes)
	}
	// Interim events come only after the first second, so a quicker sync
	// has none.
	if done.DurationMS > 1500 && len(progress) < 2 {
		t.Errorf("a sync of %d ms published no progress before its end", done.DurationMS)
	}
	for i, e := range progress[:len(progress)-1] {
		if e.Phase == "done" || e.DurationMS < 1000 {
			t.Errorf("progress event %d is %+v: want interim events only after the first second", i, e)
		}
	}
	if out, err := s.exec("notification", "sh", "-c", "find /usr/src/app/bulk -type f | wc -l"); err != nil || strings.TrimSpace(out) != fmt.Sprint(folders*perFolder) {
		t.Errorf("the container has %q files under bulk (error %v), want %d", strings.TrimSpace(out), err, folders*perFolder)
	}
}
