package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestStoppedServiceStartsOnNewFiles(t *testing.T) {
	s := startStack(t)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	for _, name := range []string{"a.js", "b.js", "c.js"} {
		writeFile(t, filepath.Join(root, "lib", name), "module.exports = 'before';\n")
	}
	d := startDevd(t, s)
	waitConverged(t, root, id, appDir, "node_modules")
	settle(t, d, "notification")

	t.Run("container stopped", func(t *testing.T) {
		dockerCLI(t, "stop", "--time", "2", id)
		writeFile(t, filepath.Join(root, "message.js"), messageModule("edited while stopped"))
		writeFile(t, filepath.Join(root, "lib", "a.js"), "module.exports = 'a while stopped';\n")
		writeFile(t, filepath.Join(root, "lib", "b.js"), "module.exports = 'b while stopped';\n")
		if err := os.Remove(filepath.Join(root, "lib", "c.js")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "lib", "d.js"), "module.exports = 'added while stopped';\n")
		d.waitLog("waiting for a running container; changes are kept until it starts", map[string]string{"service": "notification"})

		since := time.Now()
		dockerCLI(t, "start", id)
		// The kept changes land right after the start and restart the
		// service once, so the first answers may still come from the old
		// files.
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "edited while stopped" })
		waitConverged(t, root, id, appDir, "node_modules")
		settle(t, d, "notification")
		if n := countStarts(t, id, since); n > 2 {
			t.Errorf("the container started %d times after docker start, want at most 2", n)
		}
	})

	t.Run("devd not running", func(t *testing.T) {
		d.stop()
		writeFile(t, filepath.Join(root, "message.js"), messageModule("edited without devd"))
		writeFile(t, filepath.Join(root, "lib", "a.js"), "module.exports = 'a without devd';\n")
		if err := os.Remove(filepath.Join(root, "lib", "d.js")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(root, "lib", "e.js"), "module.exports = 'added without devd';\n")

		startDevd(t, s)
		waitConverged(t, root, id, appDir, "node_modules")
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "edited without devd" })
	})
}
