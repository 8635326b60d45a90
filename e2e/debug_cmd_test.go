package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// runDevdDebug runs `devd debug` with args in the stack's folder and
// returns its output and exit code.
func runDevdDebug(t *testing.T, s *stack, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(devdBinary, append([]string{"debug"}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running devd debug: %v", err)
	}
	return out.String(), errOut.String(), code
}

// debugJSON is the part of `devd debug --json` the test reads.
type debugJSON struct {
	Running   bool   `json:"running"`
	Workspace string `json:"workspace"`
	Endpoints []struct {
		Service       string `json:"service"`
		Runtime       string `json:"runtime"`
		ContainerPort int    `json:"container_port"`
		Address       string `json:"address"`
		VSCode        *struct {
			Type       string `json:"type"`
			Request    string `json:"request"`
			Address    string `json:"address"`
			Port       int    `json:"port"`
			Restart    bool   `json:"restart"`
			LocalRoot  string `json:"localRoot"`
			RemoteRoot string `json:"remoteRoot"`
		} `json:"vscode"`
		JetBrains *struct {
			Configuration string `json:"configuration"`
			Host          string `json:"host"`
			Port          int    `json:"port"`
		} `json:"jetbrains"`
	} `json:"endpoints"`
}

func readDebugJSON(t *testing.T, s *stack, args ...string) debugJSON {
	t.Helper()
	out, errOut, code := runDevdDebug(t, s, append([]string{"--json"}, args...)...)
	if code != 0 {
		t.Fatalf("devd debug --json exited %d:\n%s", code, errOut)
	}
	var r debugJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("reading devd debug --json: %v\n%s", err, out)
	}
	return r
}

// checkNodeEndpoints checks the configurations of the example's two
// Node.js services, whose proxies listen on the given addresses.
func checkNodeEndpoints(t *testing.T, r debugJSON, addrs map[string]string) {
	t.Helper()
	folders := map[string]string{"api": "api", "notification": "notification"}
	if len(r.Endpoints) != len(addrs) {
		t.Fatalf("%d endpoints, want %d: %+v", len(r.Endpoints), len(addrs), r.Endpoints)
	}
	for _, e := range r.Endpoints {
		want, ok := addrs[e.Service]
		if !ok {
			t.Errorf("unexpected endpoint for %s", e.Service)
			continue
		}
		if e.Address != want || e.Runtime != "node" {
			t.Errorf("%s: address %s, runtime %q; want %s, node", e.Service, e.Address, e.Runtime, want)
		}
		host, portText, _ := net.SplitHostPort(want)
		port, _ := strconv.Atoi(portText)
		v := e.VSCode
		if v == nil || v.Type != "node" || v.Request != "attach" || v.Address != host || v.Port != port || !v.Restart ||
			v.LocalRoot != "${workspaceFolder}/"+folders[e.Service] || v.RemoteRoot != appDir {
			t.Errorf("%s: VS Code configuration %+v, want a Node.js attach to %s with ./%s mapped to %s", e.Service, v, want, folders[e.Service], appDir)
		}
		if j := e.JetBrains; j == nil || j.Configuration != "Attach to Node.js/Chrome" || j.Host != host || j.Port != port {
			t.Errorf("%s: JetBrains configuration %+v, want an attach to %s", e.Service, j, want)
		}
	}
}

func TestDebugCommand(t *testing.T) {
	s := startStack(t)

	// Without devd, the command reports that no devd runs and shows the
	// addresses devd would pick.
	_, errOut, code := runDevdDebug(t, s, "api")
	if code != 0 || !strings.Contains(errOut, "no devd is running") {
		t.Errorf("devd debug without devd: exit %d, stderr %q; want 0 and a note that devd is not running", code, errOut)
	}
	offline := readDebugJSON(t, s)
	if offline.Running {
		t.Error("devd debug --json says devd runs before it was started")
	}
	for _, e := range offline.Endpoints {
		host, port, err := net.SplitHostPort(e.Address)
		if n, _ := strconv.Atoi(port); err != nil || host != "127.0.0.1" || n < e.ContainerPort {
			t.Errorf("%s: would-be address %q, want 127.0.0.1 and a port from %d up", e.Service, e.Address, e.ContainerPort)
		}
	}

	// With devd running, the addresses are its proxies'.
	d := startDevd(t, s)
	addrs := map[string]string{"api": d.proxyAddress("api"), "notification": d.proxyAddress("notification")}
	online := readDebugJSON(t, s)
	if !online.Running || online.Workspace != s.dir {
		t.Errorf("running %v, workspace %q; want true and %s", online.Running, online.Workspace, s.dir)
	}
	checkNodeEndpoints(t, online, addrs)

	// A launch.json for the service named.
	out, _, code := runDevdDebug(t, s, "--format", "vscode", "api")
	var launch struct {
		Version        string `json:"version"`
		Configurations []struct {
			Name string `json:"name"`
			Port int    `json:"port"`
		} `json:"configurations"`
	}
	if err := json.Unmarshal([]byte(out), &launch); err != nil || code != 0 {
		t.Fatalf("devd debug --format vscode api (exit %d) is not a launch.json: %v\n%s", code, err, out)
	}
	_, apiPort, _ := net.SplitHostPort(addrs["api"])
	if len(launch.Configurations) != 1 || strconv.Itoa(launch.Configurations[0].Port) != apiPort || launch.Version == "" {
		t.Errorf("launch.json %+v, want version and one configuration on port %s", launch, apiPort)
	}

	// The JetBrains fields, and the text with everything.
	if out, _, _ := runDevdDebug(t, s, "--format", "goland", "api"); !strings.Contains(out, "Port: "+apiPort) || !strings.Contains(out, "Attach to Node.js/Chrome") {
		t.Errorf("devd debug --format goland api:\n%s", out)
	}
	if out, _, _ := runDevdDebug(t, s); !strings.Contains(out, "attach to "+addrs["api"]) || !strings.Contains(out, `"remoteRoot": "`+appDir+`"`) {
		t.Errorf("devd debug:\n%s", out)
	}

	// Mistakes are usage errors.
	for _, args := range [][]string{{"nosuch"}, {"--format", "eclipse"}} {
		if _, _, code := runDevdDebug(t, s, args...); code != 2 {
			t.Errorf("devd debug %s exited %d, want 2", strings.Join(args, " "), code)
		}
	}
}
