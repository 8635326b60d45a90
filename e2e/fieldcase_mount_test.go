package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// keepMount bind-mounts notification/keep at its own place under the sync
// target, as a project does to share one folder with the host both ways.
const keepMount = `    volumes:
      - ./notification/keep:/usr/src/app/keep
`

// TestBindMountUnderSyncTargetIsNotCopied edits a file that a bind mount
// inside a sync target shows in the container. A copy would write through
// the mount to the host file, fire a new event and revert the next save, so
// devd must leave the folder to the mount and still restart for it.
func TestBindMountUnderSyncTargetIsNotCopied(t *testing.T) {
	s := startStackSetup(t, stackSetup{
		notification: keepMount,
		prepare: func(dir string) {
			writeFile(t, filepath.Join(dir, "notification", "keep", "k.js"), "edit-0\n")
		},
	})
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	keep := filepath.Join(root, "keep", "k.js")
	settle(t, d, "notification")
	synced := d.countLogs("synced", map[string]string{"service": "notification"})
	restarts := d.restartCount("notification")

	for i := 1; i <= 4; i++ {
		want := fmt.Sprintf("edit-%d\n", i)
		writeFile(t, keep, want)
		waitFor(t, changeTimeout, "the container to see "+strings.TrimSpace(want), func() bool {
			out, err := s.exec("notification", "cat", appDir+"/keep/k.js")
			return err == nil && out == want
		})
		time.Sleep(300 * time.Millisecond)
		got, err := os.ReadFile(keep)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("after save %d the host file holds %q, want %q: devd wrote through the bind mount", i, got, want)
		}
	}
	settle(t, d, "notification")
	if n := d.countLogs("synced", map[string]string{"service": "notification"}) - synced; n != 0 {
		t.Errorf("devd synced notification %d times for edits inside its bind mount, want 0", n)
	}
	if n := d.restartCount("notification") - restarts; n < 1 || n > 4 {
		t.Errorf("4 saves in the bind mount restarted notification %d times, want 1 to 4", n)
	}

	// The rest of the target is still synced.
	writeFile(t, filepath.Join(root, "lib", "beside.js"), "1\n")
	waitConverged(t, root, id, appDir, "node_modules")
}
