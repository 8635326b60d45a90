package e2e

import (
	"bufio"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
)

// devdCommand runs a devd command in the stack's folder and returns its
// exit code and output.
func devdCommand(t *testing.T, s *stack, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(devdBinary, args...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode(), string(out)
		}
		t.Fatalf("running devd %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// status returns the running devd's status, parsed from devd status --json.
func status(t *testing.T, s *stack) control.Status {
	t.Helper()
	code, out := devdCommand(t, s, "status", "--json")
	if code != 0 {
		t.Fatalf("devd status --json exited with %d:\n%s", code, out)
	}
	var st control.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("decoding devd status --json: %v\n%s", err, out)
	}
	return st
}

func serviceStatus(t *testing.T, st control.Status, name string) control.ServiceStatus {
	t.Helper()
	for _, svc := range st.Services {
		if svc.Name == name {
			return svc
		}
	}
	t.Fatalf("devd status has no service %q", name)
	return control.ServiceStatus{}
}

func TestStatusReportsSyncRestartAndDebugger(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)

	writeFile(t, filepath.Join(s.dir, "notification", "message.js"), messageModule("status check"))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "status check" })
	settle(t, d, "notification")

	n := serviceStatus(t, status(t, s), "notification")
	if n.LastSync == nil || n.LastSync.Files < 1 || n.LastSync.Bytes < 1 {
		t.Errorf("notification last_sync = %+v, want at least one file and byte", n.LastSync)
	}
	if n.LastRestart == nil || !strings.Contains(n.LastRestart.Reason, "notification/message.js") {
		t.Errorf("notification last_restart = %+v, want a reason naming notification/message.js", n.LastRestart)
	}
	if n.RestartCount < 1 {
		t.Errorf("notification restart_count = %d, want at least 1", n.RestartCount)
	}
	if len(n.Containers) != 1 || n.Containers[0].State != "running" {
		t.Errorf("notification containers = %+v, want one running", n.Containers)
	}

	api := serviceStatus(t, status(t, s), "api")
	if len(api.Debug) != 1 || api.Debug[0].Connected {
		t.Fatalf("api debug before attaching = %+v, want one endpoint, not connected", api.Debug)
	}
	client, _ := attachInspector(t, d.proxyAddress("api"), "")
	client.evaluate("1")
	api = serviceStatus(t, status(t, s), "api")
	if !api.Debug[0].Connected || api.Debug[0].Debuggers != 1 {
		t.Errorf("api debug while attached = %+v, want connected with one debugger", api.Debug[0])
	}
	d.waitLog("debug proxy listening; attach your debugger here", map[string]string{"service": "api"})
}

func TestControlCommandsSteerDevd(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	root := filepath.Join(s.dir, "notification")

	// devd events streams JSON lines.
	events := exec.Command(devdBinary, "events")
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
	seen := make(chan event.Event, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var e event.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil {
				seen <- e
			}
		}
		close(seen)
	}()

	// devd restart restarts now and says why.
	before := serviceStatus(t, status(t, s), "api").RestartCount
	if code, out := devdCommand(t, s, "restart", "api"); code != 0 {
		t.Fatalf("devd restart api exited with %d:\n%s", code, out)
	}
	api := serviceStatus(t, status(t, s), "api")
	if api.RestartCount != before+1 || api.LastRestart == nil || !strings.Contains(api.LastRestart.Reason, "devd restart") {
		t.Errorf("after devd restart: restart_count %d (was %d), last_restart %+v", api.RestartCount, before, api.LastRestart)
	}

	// Paused: changes are kept, not applied, until resume.
	if code, out := devdCommand(t, s, "pause", "notification"); code != 0 {
		t.Fatalf("devd pause exited with %d:\n%s", code, out)
	}
	writeFile(t, filepath.Join(root, "message.js"), messageModule("after resume"))
	waitFor(t, changeTimeout, "the paused change to be kept", func() bool {
		n := serviceStatus(t, status(t, s), "notification")
		return n.Paused && n.PendingPaths > 0
	})
	if body, _ := httpGet(s.notificationURL()); message(body) == "after resume" {
		t.Fatal("a change reached the paused service")
	}
	if code, out := devdCommand(t, s, "resume", "notification"); code != 0 {
		t.Fatalf("devd resume exited with %d:\n%s", code, out)
	}
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "after resume" })

	// The event stream saw the sync of the resumed change.
	deadline := time.After(changeTimeout)
	for found := false; !found; {
		select {
		case e, ok := <-seen:
			if !ok {
				t.Fatal("devd events ended early")
			}
			found = e.Type == event.SyncDone && e.Service == "notification" && e.Files > 0
		case <-deadline:
			t.Fatal("devd events never showed the notification sync")
		}
	}

	// devd sync copies everything again; devd logs prints the history.
	if code, out := devdCommand(t, s, "sync", "notification"); code != 0 {
		t.Fatalf("devd sync exited with %d:\n%s", code, out)
	}
	code, out := devdCommand(t, s, "logs", "--no-output", "api")
	if code != 0 || !strings.Contains(out, "api: restarting (requested with devd restart)") {
		t.Errorf("devd logs api exited with %d and does not show the requested restart:\n%s", code, out)
	}

	// Bad input.
	if code, out := devdCommand(t, s, "restart", "nosuch"); code != 2 || !strings.Contains(out, `"nosuch"`) {
		t.Errorf("devd restart nosuch: exit %d, output %q; want 2 naming the service", code, out)
	}
	d.stop()
	if code, out := devdCommand(t, s, "status"); code != 4 || !strings.Contains(out, "no devd") {
		t.Errorf("devd status with no devd running: exit %d, output %q; want 4 saying none runs", code, out)
	}
}
