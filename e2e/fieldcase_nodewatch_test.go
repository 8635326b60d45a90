package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// nodeWatch runs the notification service under node --watch.
const nodeWatch = `    command: ["node", "--watch", "server.js"]
`

// A watcher in the container that follows inodes, as node --watch does,
// notices the first file the archive API replaces and none after it. So
// devd restarts the service itself: with a restart mode other than none,
// every edit takes effect whatever runs in the container. With restart:
// none, devd only keeps the files in step with every edit. Under devd up,
// the supervisor writes files in place, so node --watch gets every edit.
func TestNodeWatchServiceGetsEveryEdit(t *testing.T) {
	edits := func(t *testing.T, s *stack, served bool) {
		t.Helper()
		root := filepath.Join(s.dir, "notification")
		id := s.containerID("notification")
		for i := 1; i <= 3; i++ {
			want := fmt.Sprintf("node watch edit %d", i)
			writeFile(t, filepath.Join(root, "message.js"), messageModule(want))
			waitConverged(t, root, id, appDir, "node_modules")
			if served {
				waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == want })
			}
		}
	}

	t.Run("devd restarts", func(t *testing.T) {
		s := startStackSetup(t, stackSetup{notification: nodeWatch})
		d := startDevd(t, s)
		edits(t, s, true)
		settle(t, d, "notification")
		if n := d.restartCount("notification"); n < 1 || n > 3 {
			t.Errorf("devd restarted the service %d times for 3 edits, want 1 to 3", n)
		}
	})

	t.Run("devd only syncs", func(t *testing.T) {
		s := startStackSetup(t, stackSetup{notification: nodeWatch + `    x-devd:
      restart: none
`})
		d := startDevd(t, s)
		edits(t, s, false)
		// node --watch restarts its process for the first replaced file.
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) != "hello from notification" })
		if n := d.restartCount("notification"); n != 0 {
			t.Errorf("devd restarted the service %d times under restart: none", n)
		}
	})

	t.Run("devd up writes in place", func(t *testing.T) {
		s := prepareStack(t)
		override := filepath.Join(s.dir, "compose.override.yaml")
		base, err := os.ReadFile(override)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, override, string(base)+nodeWatch+`    x-devd:
      restart: none
`)
		d := startDevd(t, s, "up")
		waitHTTP(t, s.notificationURL(), func(string) bool { return true })
		d.waitLog("copying files through the supervisor", map[string]string{"service": "notification"})
		edits(t, s, true)
		if n := d.restartCount("notification"); n != 0 {
			t.Errorf("devd restarted the service %d times under restart: none", n)
		}
	})
}
