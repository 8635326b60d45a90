package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func TestDevdKilledMidBatchConverges(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")

	// Many changes, and devd killed while it applies them.
	for i := 0; i < 200; i++ {
		writeFile(t, filepath.Join(root, "batch", fmt.Sprintf("f%03d.js", i)), fmt.Sprintf("module.exports = %d;\n", i))
	}
	writeFile(t, filepath.Join(root, "message.js"), messageModule("after a killed devd"))
	d.waitLog("batch", nil)
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-d.done
	_ = d.cmd.Wait()

	// More changes while no devd runs.
	for i := 0; i < 50; i++ {
		if err := os.Remove(filepath.Join(root, "batch", fmt.Sprintf("f%03d.js", i))); err != nil {
			t.Fatal(err)
		}
	}

	// A new devd replaces the stale control socket and converges.
	again := startDevd(t, s)
	waitConverged(t, root, s.containerID("notification"), appDir, "node_modules")
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "after a killed devd" })
	if code, out := devdCommand(t, s, "status"); code != 0 {
		t.Errorf("devd status after replacing a killed devd: exit %d\n%s", code, out)
	}
	again.waitLog("reconciled", map[string]string{"service": "notification"})
}

func TestPausedContainerGetsChangesOnUnpause(t *testing.T) {
	s := startStack(t)
	startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	if out, err := exec.Command("docker", "pause", id).CombinedOutput(); err != nil {
		t.Fatalf("docker pause: %v: %s", err, out)
	}
	writeFile(t, filepath.Join(root, "message.js"), messageModule("after unpause"))
	writeFile(t, filepath.Join(root, "lib", "paused.js"), "1\n")

	if out, err := exec.Command("docker", "unpause", id).CombinedOutput(); err != nil {
		t.Fatalf("docker unpause: %v: %s", err, out)
	}
	waitConverged(t, root, id, appDir, "node_modules")
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "after unpause" })
}

func TestContainerKilledDuringCopyConverges(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	// A large file keeps the copy busy long enough to kill the container
	// in the middle of it.
	big := bytes.Repeat([]byte("0123456789abcdef"), 4<<20)
	if err := os.WriteFile(filepath.Join(root, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "message.js"), messageModule("after the kill"))
	d.waitLog("batch", nil)
	// The kill lands during the copy or during the restart after it; either
	// way the container must end up equal to the host once it runs again.
	if out, err := exec.Command("docker", "kill", id).CombinedOutput(); err != nil && !bytes.Contains(out, []byte("is not running")) {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	s.compose("start", "notification")

	waitConverged(t, root, id, appDir, "node_modules")
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "after the kill" })
}
