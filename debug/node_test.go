package debug

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const nodePath = "/usr/bin/node"

// nodeStartWait bounds how long a Node.js process takes to open its
// inspector.
const nodeStartWait = 10 * time.Second

var (
	debuggerListening = regexp.MustCompile(`Debugger listening on ws://([^/\s]+)/`)
	appListening      = regexp.MustCompile(`^APP_PORT=(\d+)$`)
)

// nodeApp is a script for the breakpoint tests: an HTTP server whose
// response comes from a function with a line to break on.
const nodeApp = `'use strict';
const http = require('node:http');

function answer(req) {
  const reply = 'hello from ' + process.pid; // BREAK HERE
  return reply;
}

const server = http.createServer((req, res) => res.end(answer(req)));
server.listen(0, '127.0.0.1', () => console.log('APP_PORT=' + server.address().port));
`

// nodeProcess is a running Node.js process with its inspector on a random
// loopback port.
type nodeProcess struct {
	inspector string // the inspector's address
	app       string // the script's HTTP address, for nodeApp
	kill      func()
}

func requireNode(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(nodePath); err != nil {
		t.Skipf("Node.js is needed at %s: %v", nodePath, err)
	}
}

// startNode runs an idle Node.js process and returns its inspector's
// address. The process is killed when the test ends, or earlier through
// the returned function.
func startNode(t *testing.T) (addr string, kill func()) {
	t.Helper()
	n := runNode(t, "-e", "setInterval(() => {}, 1000)")
	return n.inspector, n.kill
}

// startNodeApp writes nodeApp to a file, runs it and returns the process
// and the script's path.
func startNodeApp(t *testing.T) (*nodeProcess, string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "app.js")
	if err := os.WriteFile(script, []byte(nodeApp), 0o644); err != nil {
		t.Fatal(err)
	}
	n := runNode(t, script)
	if n.app == "" {
		t.Fatal("the script did not print its port")
	}

	return n, script
}

// runNode runs node with its inspector on a random loopback port and the
// given arguments, and waits for the inspector to listen and, when the
// script prints APP_PORT=N, for that too.
func runNode(t *testing.T, args ...string) *nodeProcess {
	t.Helper()
	cmd := exec.Command(nodePath, append([]string{"--inspect=127.0.0.1:0"}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}

	// Read both pipes to their end, so node never blocks on a full pipe.
	found := make(chan [2]string, 4) // which, value
	var drained sync.WaitGroup
	scan := func(r io.Reader, which string, re *regexp.Regexp) {
		defer drained.Done()
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- [2]string{which, m[1]}:
				default:
				}
			}
		}
	}
	drained.Add(2)
	go scan(stderr, "inspector", debuggerListening)
	go scan(stdout, "app", appListening)
	exited := make(chan struct{})
	go func() {
		drained.Wait()
		close(exited)
	}()

	var killed atomic.Bool
	n := &nodeProcess{}
	n.kill = func() {
		if killed.Swap(true) {
			return
		}
		_ = cmd.Process.Kill()
		<-exited
		_ = cmd.Wait()
	}
	t.Cleanup(n.kill)

	wantApp := len(args) > 0 && args[0] != "-e"
	deadline := time.After(nodeStartWait)
	for n.inspector == "" || (wantApp && n.app == "") {
		select {
		case f := <-found:
			if f[0] == "inspector" {
				n.inspector = f[1]
			} else {
				n.app = "127.0.0.1:" + f[1]
			}
		case <-exited:
			t.Fatal("node exited before it listened")
		case <-deadline:
			t.Fatalf("node did not listen within %s", nodeStartWait)
		}
	}

	return n
}

type inspectorTarget struct {
	ID                   string `json:"id"`
	WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	DevtoolsFrontendURL  string `json:"devtoolsFrontendUrl"`
}

// listTargets fetches /json/list through proxyAddr, sending host as the
// Host header.
func listTargets(t *testing.T, proxyAddr, host string) (int, []inspectorTarget) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+proxyAddr+"/json/list", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: closeWait}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /json/list through the proxy: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	var targets []inspectorTarget
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil {
		t.Fatalf("decoding /json/list: %v", err)
	}

	return resp.StatusCode, targets
}

// switchable is a Resolve function whose target a test changes; an empty
// target means the service is down.
type switchable struct{ addr atomic.Value }

func newSwitchable(addr string) *switchable {
	s := &switchable{}
	s.addr.Store(addr)
	return s
}

func (s *switchable) set(addr string) { s.addr.Store(addr) }

func (s *switchable) resolve(context.Context) (string, error) {
	addr := s.addr.Load().(string)
	if addr == "" {
		return "", errors.New("service api is not running")
	}
	return addr, nil
}

func proxyPort(t *testing.T, p *Proxy) string {
	t.Helper()
	_, port, err := net.SplitHostPort(p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestProxyNodeInspector(t *testing.T) {
	requireNode(t)
	inspector, killNode := startNode(t)
	target := newSwitchable(inspector)
	var attached, detached atomic.Int32
	p := startProxy(t, ProxyConfig{
		Resolve:  target.resolve,
		Service:  "api",
		Port:     9229,
		OnAttach: func(string) { attached.Add(1) },
		OnDetach: func(string) { detached.Add(1) },
	})
	proxyAddr := p.Addr().String()
	port := proxyPort(t, p)

	// Every name the developer may use gets URLs that name it and the
	// proxy's port, including names the inspector itself refuses.
	var first inspectorTarget
	for _, host := range []string{"127.0.0.1", "localhost", "devbox.test"} {
		status, targets := listTargets(t, proxyAddr, host+":"+port)
		if status != http.StatusOK || len(targets) != 1 {
			t.Fatalf("/json/list by %s: status %d, %d targets, want 200 and 1", host, status, len(targets))
		}
		first = targets[0]
		if want := "ws://" + host + ":" + port + "/" + first.ID; first.WebSocketDebuggerURL != want {
			t.Errorf("by %s, webSocketDebuggerUrl = %q, want %q", host, first.WebSocketDebuggerURL, want)
		}
		if want := "ws=" + host + ":" + port + "/" + first.ID; !strings.HasSuffix(first.DevtoolsFrontendURL, want) {
			t.Errorf("by %s, devtoolsFrontendUrl = %q, want it to end with %q", host, first.DevtoolsFrontendURL, want)
		}
	}

	c, err := dialCDP(t, proxyAddr, first.WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatalf("opening %s through the proxy: %v", first.WebSocketDebuggerURL, err)
	}
	if got := c.evaluate("6*7"); got != float64(42) {
		t.Fatalf("6*7 evaluated to %v, want 42", got)
	}
	// The /json/list connections end on their own, the session stays.
	waitFor(t, "one forwarded connection", func() bool { return p.Connections() == 1 })
	if got := p.Debuggers(); got != 1 {
		t.Errorf("Debuggers() = %d with a session open, want 1", got)
	}
	if attached.Load() != 1 {
		t.Errorf("OnAttach called %d times, want 1", attached.Load())
	}

	// A restart: devd closes the sessions, so the debugger notices at once
	// even before the old process is gone.
	p.CloseConnections()
	c.waitClosed()
	waitFor(t, "the session to end", func() bool { return p.Debuggers() == 0 && detached.Load() == 1 })
	killNode()
	target.set("")

	// While the service is down the debugger is turned away at once.
	assertClosed(t, dial(t, p))

	// The new process has a new target id, found on the same host port.
	inspector2, _ := startNode(t)
	target.set(inspector2)
	_, targets := listTargets(t, proxyAddr, "devbox.test:"+port)
	if len(targets) != 1 || targets[0].ID == first.ID {
		t.Fatalf("after the restart /json/list gave %+v, want one new target", targets)
	}

	// A debugger that comes back to the old URL reaches the new process.
	again, err := dialCDP(t, proxyAddr, first.WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatalf("attaching again by the old target id: %v", err)
	}
	if got := again.evaluate("process.pid"); got == float64(0) || got == nil {
		t.Fatalf("after the restart process.pid evaluated to %v", got)
	}
	if attached.Load() != 2 {
		t.Errorf("OnAttach called %d times after two sessions, want 2", attached.Load())
	}
}

func TestProxyNodeWithoutHostHeader(t *testing.T) {
	requireNode(t)
	inspector, _ := startNode(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(inspector)})

	// HTTP/1.0 lets a request leave out Host; the inspector would then
	// name its own address, which is the container's behind devd.
	c := dial(t, p)
	if _, err := io.WriteString(c, "GET /json/list HTTP/1.0\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	var targets []inspectorTarget
	if err := json.NewDecoder(resp.Body).Decode(&targets); err != nil || len(targets) != 1 {
		t.Fatalf("decoding /json/list: %v, %d targets", err, len(targets))
	}
	want := "ws://" + p.Addr().String() + "/" + targets[0].ID
	if targets[0].WebSocketDebuggerURL != want {
		t.Errorf("without Host, webSocketDebuggerUrl = %q, want %q", targets[0].WebSocketDebuggerURL, want)
	}
	if strings.Contains(targets[0].DevtoolsFrontendURL, inspector) {
		t.Errorf("devtoolsFrontendUrl %q names the inspector's own address %s", targets[0].DevtoolsFrontendURL, inspector)
	}
}

func TestProxyNodeBreakpoint(t *testing.T) {
	requireNode(t)
	app, script := startNodeApp(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(app.inspector), Service: "api", Port: 9229})
	proxyAddr, port := p.Addr().String(), proxyPort(t, p)
	line := lineOf(t, nodeApp, "BREAK HERE")

	for _, host := range []string{"127.0.0.1", "localhost", "devbox.test"} {
		t.Run(host, func(t *testing.T) {
			_, targets := listTargets(t, proxyAddr, host+":"+port)
			if len(targets) != 1 {
				t.Fatalf("/json/list by %s gave %d targets, want 1", host, len(targets))
			}
			c, err := dialCDP(t, proxyAddr, targets[0].WebSocketDebuggerURL, nil)
			if err != nil {
				t.Fatalf("attaching by %s: %v", host, err)
			}
			c.call("Debugger.enable", nil)
			var bp struct {
				BreakpointID string `json:"breakpointId"`
			}
			raw := c.call("Debugger.setBreakpointByUrl", map[string]any{"url": "file://" + script, "lineNumber": line})
			if err := json.Unmarshal(raw, &bp); err != nil || bp.BreakpointID == "" {
				t.Fatalf("setBreakpointByUrl answered %s: %v", raw, err)
			}

			answer := make(chan string, 1)
			go func() {
				body, err := httpGetBody("http://" + app.app + "/")
				if err != nil {
					body = "error: " + err.Error()
				}
				answer <- body
			}()
			paused := c.waitPaused()
			if got := paused.CallFrames[0].Location.LineNumber; got != line {
				t.Errorf("paused on line %d, want %d", got, line)
			}
			if len(paused.HitBreakpoints) != 1 || paused.HitBreakpoints[0] != bp.BreakpointID {
				t.Errorf("hit breakpoints %v, want [%s]", paused.HitBreakpoints, bp.BreakpointID)
			}
			if !p.Paused() {
				t.Error("Paused() = false while the program is paused at a breakpoint")
			}

			c.call("Debugger.resume", nil)
			c.waitEvent("Debugger.resumed")
			waitFor(t, "Paused() to turn false", func() bool { return !p.Paused() })
			select {
			case body := <-answer:
				if !strings.HasPrefix(body, "hello from ") {
					t.Errorf("the program answered %q after resuming", body)
				}
			case <-time.After(cdpWait):
				t.Fatal("the program did not answer after resuming")
			}
			c.call("Debugger.removeBreakpoint", map[string]any{"breakpointId": bp.BreakpointID})
		})
	}
}

func TestProxyNodePausedEndsWithSession(t *testing.T) {
	requireNode(t)
	inspector, _ := startNode(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(inspector)})
	_, targets := listTargets(t, p.Addr().String(), "localhost")
	c, err := dialCDP(t, p.Addr().String(), targets[0].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.call("Debugger.enable", nil)
	c.call("Debugger.pause", nil)
	c.waitEvent("Debugger.paused")
	if !p.Paused() {
		t.Fatal("Paused() = false after Debugger.pause")
	}

	// The inspector resumes a program whose last session ends.
	if err := c.conn.Close(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the session to end", func() bool { return p.Debuggers() == 0 })
	if p.Paused() {
		t.Error("Paused() = true after the only session ended")
	}
}

func TestProxyNodeGarbage(t *testing.T) {
	requireNode(t)
	inspector, _ := startNode(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(inspector)})
	proxyAddr := p.Addr().String()

	// Bytes that are not HTTP go to the inspector as they are, which
	// closes the connection.
	c := dial(t, p)
	if _, err := c.Write([]byte{0x16, 0x03, 0x01, 0x00, 0xff, 'x', '\r', '\n', '\r', '\n'}); err != nil {
		t.Fatal(err)
	}
	assertClosed(t, c)

	// A request line that starts like HTTP and breaks down is refused.
	c = dial(t, p)
	if _, err := io.WriteString(c, "GET \x00\x01 nonsense\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	assertClosed(t, c)

	// Broken WebSocket frames end that session only.
	_, targets := listTargets(t, proxyAddr, "localhost")
	s, err := dialCDP(t, proxyAddr, targets[0].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.NetConn().Write([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	s.waitClosed()
	waitFor(t, "the broken session to end", func() bool { return p.Debuggers() == 0 })

	// The proxy still serves.
	_, targets = listTargets(t, proxyAddr, "localhost")
	ok, err := dialCDP(t, proxyAddr, targets[0].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatalf("attaching after the garbage: %v", err)
	}
	if got := ok.evaluate("1+1"); got != float64(2) {
		t.Errorf("1+1 evaluated to %v after the garbage", got)
	}
}

// httpGetBody returns the body of a GET of url.
func httpGetBody(url string) (string, error) {
	client := http.Client{Timeout: 2 * cdpWait}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}
