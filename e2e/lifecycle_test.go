package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestStoppedContainerGetsKeptChanges(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	writeFile(t, filepath.Join(root, "lib", "old.js"), "1\n")
	waitConverged(t, root, id, appDir, "node_modules")
	settle(t, d, "notification")

	if out, err := exec.Command("docker", "stop", "--time", "2", id).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v: %s", err, out)
	}
	writeFile(t, filepath.Join(root, "message.js"), messageModule("while stopped"))
	writeFile(t, filepath.Join(root, "lib", "new.js"), "2\n")
	if err := os.Remove(filepath.Join(root, "lib", "old.js")); err != nil {
		t.Fatal(err)
	}
	d.waitLog("waiting for a running container; changes are kept until it starts", map[string]string{"service": "notification"})

	if out, err := exec.Command("docker", "start", id).CombinedOutput(); err != nil {
		t.Fatalf("docker start: %v: %s", err, out)
	}
	waitConverged(t, root, id, appDir, "node_modules")
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "while stopped" })
}

func TestRecreatedContainerIsFollowed(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	addr := d.proxyAddress("notification")
	oldID := s.containerID("notification")

	s.compose("up", "--detach", "--force-recreate", "--wait", "notification")
	newID := s.containerID("notification")
	if newID == oldID {
		t.Fatalf("container was not recreated: id still %s", oldID)
	}

	writeFile(t, filepath.Join(root, "message.js"), messageModule("after recreate"))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "after recreate" })
	waitConverged(t, root, newID, appDir, "node_modules")

	client, _ := attachInspector(t, addr, "")
	if got := client.evaluate("1+1"); got != float64(2) {
		t.Errorf("Runtime.evaluate(1+1) on the recreated container = %v, want 2", got)
	}
}

func TestComposeEditReloadsRules(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	override := filepath.Join(s.dir, "compose.override.yaml")
	original, err := os.ReadFile(override)
	if err != nil {
		t.Fatal(err)
	}

	// restart: none keeps syncing but no longer restarts.
	writeFile(t, override, string(original)+"    x-devd:\n      restart: none\n")
	d.waitLog("configuration reloaded", nil)
	before := syncWithoutRestart(t, d, root, id, "lib/reloaded.js")

	// An invalid file is reported and the rules in force stay.
	writeFile(t, override, string(original)+"    x-devd:\n      restart: [broken\n")
	d.waitLog("invalid configuration; keeping the previous rules until it is fixed", nil)
	writeFile(t, filepath.Join(root, "lib", "still.js"), "2\n")
	waitConverged(t, root, id, appDir, "node_modules")

	// Fixing the file brings the default rules back: edits restart again.
	reloads := d.countLogs("configuration reloaded", nil)
	writeFile(t, override, string(original))
	waitFor(t, changeTimeout, "a second reload", func() bool {
		return d.countLogs("configuration reloaded", nil) > reloads
	})
	want := fmt.Sprintf("restarts again %d", before)
	writeFile(t, filepath.Join(root, "message.js"), messageModule(want))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == want })
}

// TestEnvFileEditReloadsRules writes a .env while devd runs. The variable
// it sets turns notification's restarts off, so the file must be read again.
func TestEnvFileEditReloadsRules(t *testing.T) {
	s := startStack(t)
	override := filepath.Join(s.dir, "compose.override.yaml")
	original, err := os.ReadFile(override)
	if err != nil {
		t.Fatal(err)
	}
	// Only devd reads this setting, so the running stack stays as it is.
	writeFile(t, override, string(original)+"    x-devd:\n      restart: ${NOTIFICATION_RESTART:-container}\n")
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")
	settle(t, d, "notification")

	reloads := d.countLogs("configuration reloaded", nil)
	writeFile(t, filepath.Join(s.dir, ".env"), "NOTIFICATION_RESTART=none\n")
	waitFor(t, changeTimeout, "a reload after the .env was written", func() bool {
		return d.countLogs("configuration reloaded", nil) > reloads
	})
	syncWithoutRestart(t, d, root, id, "lib/from-env.js")
}

// syncWithoutRestart writes a file under notification's folder and checks
// that it reaches the container with no restart, as restart: none expects.
// It returns the count of restarts logged before the write.
func syncWithoutRestart(t *testing.T, d *devdProcess, root, id, rel string) int {
	t.Helper()
	settle(t, d, "notification")
	before := d.countLogs("restarting", map[string]string{"service": "notification"})
	writeFile(t, filepath.Join(root, filepath.FromSlash(rel)), "1\n")
	waitConverged(t, root, id, appDir, "node_modules")
	settle(t, d, "notification")
	if n := d.countLogs("restarting", map[string]string{"service": "notification"}) - before; n != 0 {
		t.Errorf("notification restarted %d times for %s under restart: none", n, rel)
	}
	return before
}

func TestSelfWritingServiceStopsLooping(t *testing.T) {
	// The api writes into its own bind-mounted source folder at every start.
	s := startStackWith(t, `    command: ["sh", "-c", "date > /usr/src/app/started.txt; exec node --inspect=0.0.0.0:9229 server.js"]
`)
	d := startDevd(t, s)

	writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule("kick off"))
	l := d.waitLog("service keeps restarting because it changes a file in its own watched folder; "+
		"changes to this path right after a restart no longer restart it; "+
		"to stop watching it, add it to x-devd.ignore, develop.watch ignore or the build context's .dockerignore, "+
		"or have the service write it outside the watched folder",
		map[string]string{"service": "api"})
	if got := l["path"]; got != "api/started.txt" {
		t.Errorf("loop message names path %v, want api/started.txt", got)
	}

	// The loop is over: the restart count stays put, and other edits still
	// restart the service.
	settle(t, d, "api")
	writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule("after the loop"))
	waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == "after the loop" })
}

func TestCrashingServiceBacksOffAndRecovers(t *testing.T) {
	// The api exits with code 3 at start while a file named crash exists.
	s := startStackWith(t, `    command: ["sh", "-c", "[ -f /usr/src/app/crash ] && exit 3; exec node --inspect=0.0.0.0:9229 server.js"]
`)
	d := startDevd(t, s)
	crash := filepath.Join(s.dir, "api", "crash")

	writeFile(t, crash, "1\n")
	exited := func() []map[string]any {
		return d.logs("service exited on its own; starting it again after a delay, or at the next change", map[string]string{"service": "api"})
	}
	waitFor(t, changeTimeout, "devd to start the crashing service again twice", func() bool { return len(exited()) >= 3 })

	// The delays grow instead of restarting in a tight loop.
	delays := exited()
	// hclog writes a duration in JSON as a number of nanoseconds.
	first, _ := delays[0]["retry_in"].(float64)
	third, _ := delays[2]["retry_in"].(float64)
	if first <= 0 || third <= first {
		t.Errorf("restart delays did not grow: %v then %v", delays[0]["retry_in"], delays[2]["retry_in"])
	}
	if got := fmt.Sprint(delays[0]["exit_code"]); got != "3" {
		t.Errorf("exit code in the report = %s, want 3", got)
	}

	// The fix is a file change: the service starts at once.
	if err := os.Remove(crash); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule("recovered"))
	waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == "recovered" })
}
