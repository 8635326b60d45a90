package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// crashOnMarker makes the notification command exit with status 3 at start
// while the file crash in its folder holds "1".
const crashOnMarker = `    command: ["sh", "-c", "grep -qx 1 /usr/src/app/crash 2>/dev/null && exit 3; exec node --inspect=0.0.0.0:9223 server.js"]
`

func TestCrashedServiceGetsQueuedChanges(t *testing.T) {
	s := startStackSetup(t, stackSetup{notification: crashOnMarker})
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	crash := filepath.Join(root, "crash")
	exited := func() int {
		return d.countLogs("service exited on its own; starting it again after a delay, or at the next change",
			map[string]string{"service": "notification"})
	}

	writeFile(t, filepath.Join(root, "lib", "doomed.js"), "module.exports = 'doomed';\n")
	writeFile(t, filepath.Join(root, "lib", "also-doomed.js"), "module.exports = 'also doomed';\n")
	writeFile(t, filepath.Join(root, "lib", "kept.js"), "module.exports = 1;\n")
	waitConverged(t, root, id, appDir, "node_modules")
	settle(t, d, "notification")

	// crashNow lets the service crash and waits until devd has seen it.
	crashNow := func() {
		t.Helper()
		before := exited()
		writeFile(t, crash, "1\n")
		waitFor(t, changeTimeout, "the service to crash", func() bool { return exited() > before })
		if state := dockerCLI(t, "inspect", "--format", "{{.State.Status}}", id); state != "exited\n" {
			t.Fatalf("the crashed container is %q, want exited", state)
		}
	}

	t.Run("writes and deletes", func(t *testing.T) {
		crashNow()
		since := time.Now()
		if err := os.Remove(filepath.Join(root, "lib", "doomed.js")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "lib", "kept.js"), "module.exports = 2;\n")
		writeFile(t, filepath.Join(root, "message.js"), messageModule("fixed while exited"))
		writeFile(t, crash, "0\n")

		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "fixed while exited" })
		waitConverged(t, root, id, appDir, "node_modules")
		settle(t, d, "notification")
		if n := countStarts(t, id, since); n != 1 {
			t.Errorf("the container started %d times after the fix, want 1", n)
		}
	})

	// Here the fix itself is a delete. A delete needs a running container,
	// and this one crashes before devd can run rm in it, so devd keeps
	// starting it with growing delays rather than in a tight loop; a
	// recreated container starts from the image and gets the host's files
	// by reconciliation.
	t.Run("deletes only", func(t *testing.T) {
		crashNow()
		since := time.Now()
		if err := os.Remove(filepath.Join(root, "lib", "also-doomed.js")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(crash); err != nil {
			t.Fatal(err)
		}

		within(20*time.Second, func() bool { return false })
		if n := countStarts(t, id, since); n > 8 {
			t.Errorf("the container started %d times in 20 s: devd restarts it in a tight loop", n)
		}

		s.compose("up", "--detach", "--force-recreate", "notification")
		newID := s.containerID("notification")
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "fixed while exited" })
		waitConverged(t, root, newID, appDir, "node_modules")
	})

	noErrorLogs(t, d)
}
