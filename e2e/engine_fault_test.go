package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// engineStopTimeout bounds how long the test waits for the engine to stop
// and to come back.
const engineStopTimeout = 90 * time.Second

// TestEngineRestartLosesNoChange stops the Docker engine under a running
// devd, edits files meanwhile, starts the engine again and checks that
// devd reconnects and the container converges. It restarts the engine, so
// it runs only against an engine that the CI script started for this run,
// named by DEVD_TEST_DOCKERD_PID, and only when nothing else uses it.
func TestEngineRestartLosesNoChange(t *testing.T) {
	pidText := os.Getenv("DEVD_TEST_DOCKERD_PID")
	if pidText == "" {
		t.Skip("restarts the Docker engine, so it runs only when DEVD_TEST_DOCKERD_PID names an engine that .ci/run started")
	}
	pid, err := strconv.Atoi(pidText)
	if err != nil {
		t.Fatalf("DEVD_TEST_DOCKERD_PID=%q is not a process id", pidText)
	}

	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	addr := d.proxyAddress("notification")

	writeFile(t, filepath.Join(root, "lib", "before.js"), "1\n")
	writeFile(t, filepath.Join(root, "lib", "doomed.js"), "1\n")
	waitConverged(t, root, s.containerID("notification"), appDir, "node_modules")
	settle(t, d, "notification")

	// Stop the engine by its process id and wait until it is gone.
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("stopping the engine (pid %d): %v", pid, err)
	}
	waitFor(t, engineStopTimeout, "the engine to stop", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
	d.waitLog("lost the Docker engine; changes are kept and applied when it answers again", nil)

	// Changes while the engine is down.
	writeFile(t, filepath.Join(root, "message.js"), messageModule("while the engine was down"))
	writeFile(t, filepath.Join(root, "lib", "during.js"), "2\n")
	if err := os.Remove(filepath.Join(root, "lib", "doomed.js")); err != nil {
		t.Fatal(err)
	}

	start := exec.Command("bash", filepath.Join(repoRoot, "scripts", "engine.sh"), "start")
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("starting the engine again: %v\n%s", err, out)
	}
	d.waitLogWithin(engineStopTimeout, "Docker engine answers again", nil)

	// The engine stopped the containers with itself. devd does not start
	// containers; the developer (or a restart policy) does.
	s.compose("start")
	id := s.containerID("notification")
	waitConverged(t, root, id, appDir, "node_modules")
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "while the engine was down" })

	// The debug proxy follows the container to its new address.
	client, _ := attachInspector(t, addr, "")
	if got := client.evaluate("2+3"); got != float64(5) {
		t.Errorf("Runtime.evaluate(2+3) after the engine restart = %v, want 5", got)
	}
}
