package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// processTable returns the container's processes as "pid state command"
// lines, read from /proc so that no ps is needed in the image.
func processTable(t *testing.T, s *stack, service string) []string {
	t.Helper()
	out, err := s.exec(service, "sh", "-c",
		`for d in /proc/[0-9]*; do [ -r $d/stat ] && echo "$(cut -d' ' -f1,3 $d/stat 2>/dev/null) $(tr '\0' ' ' < $d/cmdline 2>/dev/null)"; done; exit 0`)
	if err != nil {
		t.Fatalf("reading the process table of %s: %v\n%s", service, err, out)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func TestUpRestartsProcessInPlace(t *testing.T) {
	s := prepareStack(t)
	d := startDevd(t, s, "up")
	waitHTTP(t, s.apiURL(), func(string) bool { return true })
	id := s.containerID("api")

	const restarts = 20
	for i := 1; i <= restarts; i++ {
		want := fmt.Sprintf("process restart %d", i)
		writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule(want))
		waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == want })
		// Saves a person makes are seconds apart; the loop guard treats
		// saves within a second of each restart as a service writing its
		// own files.
		time.Sleep(1100 * time.Millisecond)
	}

	if got := s.containerID("api"); got != id {
		t.Errorf("container id changed from %s to %s; a process restart keeps the container", id, got)
	}
	if n := d.countLogs("restarting", map[string]string{"service": "api", "mode": "process"}); n < restarts {
		t.Errorf("devd logged %d process restarts of api, want %d", n, restarts)
	}

	var nodes, zombies []string
	for _, p := range processTable(t, s, "api") {
		fields := strings.Fields(p)
		if len(fields) >= 2 && fields[1] == "Z" {
			zombies = append(zombies, p)
		}
		if len(fields) >= 3 && fields[2] == "node" {
			nodes = append(nodes, p)
		}
	}
	if len(zombies) > 0 {
		t.Errorf("zombie processes after %d restarts:\n%s", restarts, strings.Join(zombies, "\n"))
	}
	if len(nodes) != 1 {
		t.Errorf("%d node processes run after %d restarts, want 1:\n%s", len(nodes), restarts, strings.Join(nodes, "\n"))
	}

	logs, _ := exec.Command("docker", "logs", id).CombinedOutput()
	if strings.Contains(string(logs), "EADDRINUSE") {
		t.Errorf("a restarted process found its port in use:\n%s", logs)
	}
}

func TestUpSyncsAndRestartsNotification(t *testing.T) {
	s := prepareStack(t)
	d := startDevd(t, s, "up")
	waitHTTP(t, s.notificationURL(), func(string) bool { return true })
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	writeFile(t, filepath.Join(root, "message.js"), messageModule("synced under up"))
	writeFile(t, filepath.Join(root, "lib", "extra.js"), "1\n")
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "synced under up" })
	waitConverged(t, root, id, appDir, "node_modules")
	if n := d.countLogs("restarting", map[string]string{"service": "notification", "mode": "process"}); n < 1 {
		t.Errorf("notification was not restarted as a process")
	}
}

func TestUpStopEndsWithinGrace(t *testing.T) {
	s := prepareStack(t)
	startDevd(t, s, "up")
	waitHTTP(t, s.apiURL(), func(string) bool { return true })
	id := s.containerID("api")

	start := time.Now()
	if out, err := exec.Command("docker", "stop", "--time", "10", id).CombinedOutput(); err != nil {
		t.Fatalf("docker stop: %v: %s", err, out)
	}
	// The app closes its server on SIGTERM, so the supervisor must not
	// need the 10 s grace period and its SIGKILL.
	if elapsed := time.Since(start); elapsed >= 9*time.Second {
		t.Errorf("docker stop took %s; the supervisor did not pass SIGTERM on to the app", elapsed)
	}
	out, err := exec.Command("docker", "inspect", "--format", "{{.State.ExitCode}}", id).CombinedOutput()
	if err != nil {
		t.Fatalf("docker inspect: %v: %s", err, out)
	}
	if code := strings.TrimSpace(string(out)); code != "0" {
		t.Errorf("supervised container exited with %s, want the app's status 0", code)
	}
}
