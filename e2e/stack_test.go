package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/internal/cdp"
)

const appDir = "/usr/src/app"

// countStarts counts the container's start events since the given time.
func countStarts(t *testing.T, containerID string, since time.Time) int {
	t.Helper()
	out, err := exec.Command("docker", "events",
		"--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		"--until", strconv.FormatInt(time.Now().Unix()+1, 10),
		"--filter", "container="+containerID,
		"--filter", "event=start",
		"--format", "{{.Action}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker events: %v\n%s", err, out)
	}
	return strings.Count(string(out), "start")
}

// settle waits until devd has had time to act on everything so far: the
// quiet period and the restarts. It waits for the count of "restarted"
// logs of the service to stay put for a second.
func settle(t *testing.T, d *devdProcess, service string) {
	t.Helper()
	stableSince := time.Now()
	last := -1
	waitFor(t, changeTimeout, "devd to settle", func() bool {
		n := d.countLogs("restarted", map[string]string{"service": service}) + d.countLogs("restarting", map[string]string{"service": service})
		if n != last {
			last = n
			stableSince = time.Now()
			return false
		}
		return time.Since(stableSince) > time.Second
	})
}

func TestAPIEditServesNewCode(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	id := s.containerID("api")

	for i := 1; i <= 2; i++ {
		want := fmt.Sprintf("api edit %d", i)
		writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule(want))
		waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == want })
	}

	if got := s.containerID("api"); got != id {
		t.Errorf("container id changed from %s to %s; a restart must keep the container", id, got)
	}
	if n := d.countLogs("restarted", map[string]string{"service": "api"}); n < 2 {
		t.Errorf("devd logged %d restarts of api, want at least 2", n)
	}
	if n := d.countLogs("restarting", map[string]string{"service": "notification"}); n != 0 {
		t.Errorf("notification restarted %d times after edits to api only", n)
	}
}

func TestNotificationSyncConverges(t *testing.T) {
	s := startStack(t)
	startDevd(t, s)
	root := filepath.Join(s.dir, "notification")
	id := s.containerID("notification")

	writeFile(t, filepath.Join(root, "message.js"), messageModule("synced edit"))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "synced edit" })

	writeFile(t, filepath.Join(root, "lib", "added.js"), "module.exports = 1;\n")
	writeFile(t, filepath.Join(root, "lib", "doomed.js"), "module.exports = 2;\n")
	waitConverged(t, root, id, appDir, "node_modules")

	if err := os.Remove(filepath.Join(root, "lib", "doomed.js")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "lib", "added.js"), "module.exports = 3;\n")
	waitConverged(t, root, id, appDir, "node_modules")

	writeFile(t, filepath.Join(root, "message.js"), messageModule("second synced edit"))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "second synced edit" })
}

// attachInspector discovers the target through /json/list on the proxy
// address and opens the WebSocket URL that it lists, connecting to the
// host the URL names.
func attachInspector(t *testing.T, addr, hostHeader string) (*inspectorSession, string) {
	t.Helper()
	var targets []cdp.Target
	var lastErr error
	waitFor(t, changeTimeout, "the inspector to answer /json/list through devd", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), listWait)
		defer cancel()
		var err error
		targets, err = cdp.ListTargets(ctx, addr, hostHeader)
		if err != nil || len(targets) == 0 {
			lastErr = fmt.Errorf("unexpected /json/list response %+v: %v", targets, err)
			return false
		}
		return true
	})
	_ = lastErr

	wsURL := targets[0].WebSocketDebuggerURL
	_, port, _ := strings.Cut(addr, ":")
	if !strings.Contains(wsURL, ":"+port+"/") {
		t.Fatalf("webSocketDebuggerUrl %q does not point at devd's port %s", wsURL, port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), debugWait)
	defer cancel()
	conn, err := cdp.Dial(ctx, "", wsURL)
	if err != nil {
		t.Fatalf("opening inspector WebSocket %s: %v", wsURL, err)
	}
	t.Cleanup(func() { conn.Close() })
	return &inspectorSession{t: t, conn: conn, target: targets[0].ID, url: wsURL}, targets[0].ID
}

func TestInspectorAttachSurvivesRestart(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	addr := d.proxyAddress("api")
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("debug proxy listens on %s, want a loopback address", addr)
	}

	client, firstTarget := attachInspector(t, addr, "")
	if got := client.evaluate("6*7"); got != float64(42) {
		t.Fatalf("Runtime.evaluate(6*7) through devd = %v, want 42", got)
	}

	writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule("after restart"))
	waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == "after restart" })

	again, secondTarget := attachInspector(t, addr, "")
	if firstTarget == secondTarget {
		t.Errorf("target id %s did not change; the process was not restarted", firstTarget)
	}
	if got := again.evaluate("process.mainModule.require('./message')"); got != "after restart" {
		t.Errorf("evaluating message.js after the restart = %v, want %q", got, "after restart")
	}
}
