package debug

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const nodePath = "/usr/bin/node"

// nodeStartWait bounds how long a Node.js process takes to open its
// inspector.
const nodeStartWait = 10 * time.Second

var debuggerListening = regexp.MustCompile(`Debugger listening on ws://([^/\s]+)/`)

// startNode runs an idle Node.js process with its inspector on a random
// loopback port and returns the inspector's address. The process is killed
// when the test ends, or earlier through the returned function.
func startNode(t *testing.T) (addr string, kill func()) {
	t.Helper()
	cmd := exec.Command(nodePath, "--inspect=127.0.0.1:0", "-e", "setInterval(() => {}, 1000)")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node: %v", err)
	}

	// Read stderr to its end, so node never blocks on a full pipe.
	addrc := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := debuggerListening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
	}()
	var killed atomic.Bool
	kill = func() {
		if killed.Swap(true) {
			return
		}
		_ = cmd.Process.Kill()
		<-drained
		_ = cmd.Wait()
	}
	t.Cleanup(kill)

	select {
	case addr = <-addrc:
		return addr, kill
	case <-drained:
		t.Fatal("node exited before its inspector listened")
	case <-time.After(nodeStartWait):
		t.Fatalf("node's inspector did not listen within %s", nodeStartWait)
	}

	return "", nil
}

type inspectorTarget struct {
	ID                   string `json:"id"`
	WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
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

// evaluate runs expr in the target through the WebSocket and returns the
// result's value.
func evaluate(t *testing.T, ws *websocket.Conn, id int, expr string) any {
	t.Helper()
	msg := map[string]any{"id": id, "method": "Runtime.evaluate", "params": map[string]any{"expression": expr}}
	if err := ws.WriteJSON(msg); err != nil {
		t.Fatalf("sending Runtime.evaluate: %v", err)
	}
	if err := ws.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	for {
		var reply struct {
			ID     int `json:"id"`
			Result struct {
				Result struct {
					Value any `json:"value"`
				} `json:"result"`
			} `json:"result"`
			Error *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := ws.ReadJSON(&reply); err != nil {
			t.Fatalf("reading the reply to Runtime.evaluate: %v", err)
		}
		if reply.ID != id {
			continue // an event
		}
		if reply.Error != nil {
			t.Fatalf("Runtime.evaluate failed: %s", reply.Error.Message)
		}
		return reply.Result.Result.Value
	}
}

func TestProxyNodeInspector(t *testing.T) {
	if _, err := os.Stat(nodePath); err != nil {
		t.Skipf("Node.js is needed at %s: %v", nodePath, err)
	}
	inspector, killNode := startNode(t)
	var target atomic.Value
	target.Store(inspector)
	p := startProxy(t, ProxyConfig{
		Resolve: func(context.Context) (string, error) {
			addr := target.Load().(string)
			if addr == "" {
				return "", fmt.Errorf("service api is not running")
			}
			return addr, nil
		},
		Service: "api",
		Port:    9229,
	})
	proxyAddr := p.Addr().String()
	_, proxyPort, err := net.SplitHostPort(proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	host := "localhost:" + proxyPort

	// The inspector builds the WebSocket URL from the Host header the
	// debugger sent, so it names the proxy's port.
	status, targets := listTargets(t, proxyAddr, host)
	if status != http.StatusOK || len(targets) != 1 {
		t.Fatalf("/json/list: status %d, %d targets, want 200 and 1", status, len(targets))
	}
	wsURL := targets[0].WebSocketDebuggerURL
	if want := "ws://" + host + "/" + targets[0].ID; wsURL != want {
		t.Fatalf("webSocketDebuggerUrl = %q, want %q", wsURL, want)
	}

	// The inspector itself rejects any other host name.
	if status, _ := listTargets(t, proxyAddr, "devd-test.invalid:"+proxyPort); status != http.StatusBadRequest {
		t.Errorf("/json/list with a host name: status %d, want 400", status)
	}

	dialer := websocket.Dialer{
		HandshakeTimeout: closeWait,
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", proxyAddr)
		},
	}
	ws, resp, err := dialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("opening %s through the proxy: %v", wsURL, err)
	}
	resp.Body.Close()
	t.Cleanup(func() { _ = ws.Close() })
	if got := evaluate(t, ws, 1, "6*7"); got != float64(42) {
		t.Fatalf("6*7 evaluated to %v, want 42", got)
	}
	// The /json/list connections end on their own, the WebSocket stays.
	waitFor(t, "one forwarded connection", func() bool { return p.Connections() == 1 })

	// A restart: devd closes the sessions, so the debugger notices at once
	// even before the old process is gone.
	p.CloseConnections()
	if err := ws.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ws.ReadMessage(); err == nil || websocketTimeout(err) {
		t.Fatalf("debugger session still open after CloseConnections: %v", err)
	}
	killNode()
	target.Store("")

	// While the service is down the debugger is rejected at once.
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	assertClosed(t, c)

	// The new process has a new target id, found on the same host port.
	inspector2, _ := startNode(t)
	target.Store(inspector2)
	_, targets2 := listTargets(t, proxyAddr, host)
	if len(targets2) != 1 || targets2[0].ID == targets[0].ID {
		t.Fatalf("after the restart /json/list gave %+v, want one new target", targets2)
	}
	ws2, resp, err := dialer.Dial(targets2[0].WebSocketDebuggerURL, nil)
	if err != nil {
		t.Fatalf("attaching again: %v", err)
	}
	resp.Body.Close()
	t.Cleanup(func() { _ = ws2.Close() })
	if got := evaluate(t, ws2, 1, "6*7"); got != float64(42) {
		t.Fatalf("after the restart 6*7 evaluated to %v, want 42", got)
	}
}

func websocketTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
