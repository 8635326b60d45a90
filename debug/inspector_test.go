package debug

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeInspector behaves like the Node.js inspector: it rejects Host
// headers that are names other than localhost, builds its URLs from the
// Host it received, and accepts a WebSocket only on its current target id.
// On a session, a "pause" message gets a long Debugger.paused event split
// into small frames, "resume" a Debugger.resumed event.
type fakeInspector struct {
	t    *testing.T
	addr string

	mu    sync.Mutex
	id    string   // guarded by mu
	hosts []string // guarded by mu, every Host header received
}

func startFakeInspector(t *testing.T) *fakeInspector {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeInspector{t: t, addr: l.Addr().String(), id: "first-target"}
	srv := &http.Server{Handler: f, ReadHeaderTimeout: closeWait}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })

	return f
}

func (f *fakeInspector) setID(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.id = id
}

func (f *fakeInspector) receivedHosts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.hosts...)
}

func (f *fakeInspector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hosts = append(f.hosts, r.Host)
	id := f.id
	f.mu.Unlock()

	host := r.Host
	if host == "" {
		host = f.addr
	}
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	if name != "localhost" && net.ParseIP(strings.Trim(name, "[]")) == nil {
		http.Error(w, "WebSockets request was expected", http.StatusBadRequest)
		return
	}

	switch r.URL.Path {
	case "/json", "/json/list":
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		fmt.Fprintf(w, `[ {
  "description": "node.js instance",
  "devtoolsFrontendUrl": "devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=%[1]s/%[2]s",
  "id": "%[2]s",
  "type": "node",
  "url": "file:///ws://%[1]s/kept.js",
  "webSocketDebuggerUrl": "ws://%[1]s/%[2]s"
} ]`, host, id)
	case "/json/version":
		fmt.Fprint(w, `{"Browser": "node.js/v20", "Protocol-Version": "1.1"}`)
	case "/" + id:
		f.session(w, r)
	default:
		http.Error(w, "WebSockets request was expected", http.StatusBadRequest)
	}
}

func (f *fakeInspector) session(w http.ResponseWriter, r *http.Request) {
	// A small write buffer splits every longer message into frames.
	up := websocket.Upgrader{WriteBufferSize: 64, CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		var msg struct {
			ID     int    `json:"id"`
			Method string `json:"method"`
		}
		if err := conn.ReadJSON(&msg); err != nil {
			return
		}
		var event string
		switch msg.Method {
		case "pause":
			event = `{"method":"Debugger.paused","params":{"reason":"other","callFrames":[` +
				strings.Repeat(`{"callFrameId":"x","functionName":"f"},`, 100) + `{}]}}`
		case "resume":
			event = `{"method":"Debugger.resumed","params":{}}`
		}
		if event != "" {
			if err := conn.WriteMessage(websocket.TextMessage, []byte(event)); err != nil {
				return
			}
		}
		if err := conn.WriteJSON(map[string]any{"id": msg.ID, "result": map[string]any{}}); err != nil {
			return
		}
	}
}

// rawRequest sends text on a new connection to the proxy and returns the
// response.
func rawRequest(t *testing.T, p *Proxy, text string) (*http.Response, string) {
	t.Helper()
	c := dial(t, p)
	if _, err := io.WriteString(c, text); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to %q: %v", text, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	return resp, string(body)
}

func TestInspectorHostHandling(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr), Protocol: ProtocolNode})
	port := proxyPort(t, p)
	tests := []struct {
		host string // Host header sent, "" for none
		want string // host and port in the URLs
	}{
		{"127.0.0.1:" + port, "127.0.0.1:" + port},
		{"localhost:" + port, "localhost:" + port},
		{"devbox.test:" + port, "devbox.test:" + port},
		{"devbox.test", "devbox.test:" + port},
		{"[::1]:" + port, "[::1]:" + port},
		{"", p.Addr().String()},
	}
	for _, tt := range tests {
		req := "GET /json/list HTTP/1.0\r\n"
		if tt.host != "" {
			req += "Host: " + tt.host + "\r\n"
		}
		resp, body := rawRequest(t, p, req+"\r\n")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("Host %q: status %d, want 200: %s", tt.host, resp.StatusCode, body)
			continue
		}
		var targets []inspectorTarget
		if err := json.Unmarshal([]byte(body), &targets); err != nil || len(targets) != 1 {
			t.Fatalf("Host %q: reading %s: %v", tt.host, body, err)
		}
		if want := "ws://" + tt.want + "/first-target"; targets[0].WebSocketDebuggerURL != want {
			t.Errorf("Host %q: webSocketDebuggerUrl = %q, want %q", tt.host, targets[0].WebSocketDebuggerURL, want)
		}
		if want := "&ws=" + tt.want + "/first-target"; !strings.HasSuffix(targets[0].DevtoolsFrontendURL, want) {
			t.Errorf("Host %q: devtoolsFrontendUrl = %q, want it to end with %q", tt.host, targets[0].DevtoolsFrontendURL, want)
		}
		if !strings.Contains(body, `"url": "file:///ws://127.0.0.1:`+port+`/kept.js"`) {
			t.Errorf("Host %q: a URL outside the WebSocket fields was changed: %s", tt.host, body)
		}
		if got := resp.ContentLength; got != int64(len(body)) {
			t.Errorf("Host %q: Content-Length %d for a body of %d bytes", tt.host, got, len(body))
		}
	}

	// The inspector only ever saw the Host it accepts.
	for _, h := range fake.receivedHosts() {
		if h != "127.0.0.1:"+port {
			t.Errorf("the inspector received Host %q, want only 127.0.0.1:%s", h, port)
		}
	}

	// Other responses pass unchanged.
	if resp, body := rawRequest(t, p, "GET /json/version HTTP/1.1\r\nHost: devbox.test\r\nConnection: close\r\n\r\n"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "node.js/v20") {
		t.Errorf("/json/version: %d %q", resp.StatusCode, body)
	}
	if resp, _ := rawRequest(t, p, "GET /nothing HTTP/1.1\r\nHost: devbox.test\r\nConnection: close\r\n\r\n"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("GET /nothing: status %d, want the inspector's 400", resp.StatusCode)
	}
}

func TestInspectorRefusesBadHost(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr), Protocol: ProtocolNode})
	resp, _ := rawRequest(t, p, "GET /json/list HTTP/1.1\r\nHost: a\"b/c\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d for a Host that cannot be in a URL, want 400", resp.StatusCode)
	}
	if n := len(fake.receivedHosts()); n != 0 {
		t.Errorf("the request reached the inspector %d times", n)
	}
}

func TestInspectorKeepAlive(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr)})
	c := dial(t, p)
	// Two requests at once: each gets its own response, in order.
	if _, err := io.WriteString(c, "GET /json/list HTTP/1.1\r\nHost: devbox.test\r\n\r\nGET /json/version HTTP/1.1\r\nHost: devbox.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for _, want := range []string{"webSocketDebuggerUrl", "Protocol-Version"} {
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("reading the answer with %s: %v", want, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !strings.Contains(string(body), want) {
			t.Errorf("answer %q (%v), want one with %s", body, err, want)
		}
	}
}

func TestInspectorOldTargetID(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr)})
	port := proxyPort(t, p)
	_, targets := listTargets(t, p.Addr().String(), "devbox.test:"+port)
	oldURL := targets[0].WebSocketDebuggerURL

	// The process restarts with a new id.
	fake.setID("second-target")
	c, err := dialCDP(t, p.Addr().String(), oldURL, nil)
	if err != nil {
		t.Fatalf("attaching by the old id %s: %v", oldURL, err)
	}
	c.call("resume", nil)

	// An id the proxy never saw is no key to the session: a page that
	// cannot read /json/list must not get in by guessing.
	if _, err := dialCDP(t, p.Addr().String(), "ws://localhost:"+port+"/guessed", nil); err == nil {
		t.Error("attaching by an id the inspector never reported succeeded")
	}
}

func TestInspectorOrigin(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr)})
	url := "ws://devbox.test:" + proxyPort(t, p) + "/first-target"
	for origin, allowed := range map[string]bool{
		"devtools://devtools":    true,
		"http://localhost:8080":  true,
		"http://127.0.0.1:3000":  true,
		"http://devbox.test":     false, // a page reaching the proxy by DNS rebinding
		"https://example.com":    false,
		"null":                   false,
		"http://localhost.evil/": false,
	} {
		_, err := dialCDP(t, p.Addr().String(), url, http.Header{"Origin": {origin}})
		if allowed && err != nil {
			t.Errorf("Origin %s: refused: %v", origin, err)
		}
		if !allowed && err == nil {
			t.Errorf("Origin %s: a session was opened", origin)
		}
	}
}

func TestInspectorPausedFromFrames(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr)})
	c, err := dialCDP(t, p.Addr().String(), "ws://localhost:"+proxyPort(t, p)+"/first-target", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Paused() {
		t.Fatal("Paused() = true before any event")
	}
	c.call("pause", nil)
	c.waitEvent("Debugger.paused")
	if !p.Paused() {
		t.Error("Paused() = false after a fragmented Debugger.paused")
	}
	c.call("other", nil)
	if !p.Paused() {
		t.Error("Paused() = false after an answer that is not Debugger.resumed")
	}
	c.call("resume", nil)
	c.waitEvent("Debugger.resumed")
	if p.Paused() {
		t.Error("Paused() = true after Debugger.resumed")
	}
}

func TestInspectorGarbage(t *testing.T) {
	fake := startFakeInspector(t)
	p := startProxy(t, ProxyConfig{Resolve: fixed(fake.addr), Protocol: ProtocolNode})

	// Not HTTP at all.
	resp, _ := rawRequest(t, p, "\x00\x01\x02 not http\r\n\r\n")
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d for bytes that are not HTTP, want 400", resp.StatusCode)
	}

	// A header that never ends.
	c := dial(t, p)
	go func() {
		_, _ = io.WriteString(c, "GET /json HTTP/1.1\r\nX: "+strings.Repeat("a", 2*maxRequestHeader))
	}()
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the answer to a huge header: %v", err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d for a huge header, want 431", r.StatusCode)
	}
	assertClosed(t, c)

	// Broken frames end the session, not the proxy.
	s, err := dialCDP(t, p.Addr().String(), "ws://localhost:"+proxyPort(t, p)+"/first-target", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.conn.NetConn().Write([]byte{0x8f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	s.waitClosed()
	waitFor(t, "the session to end", func() bool { return p.Debuggers() == 0 })
	if resp, _ := rawRequest(t, p, "GET /json/list HTTP/1.0\r\nHost: localhost\r\n\r\n"); resp.StatusCode != http.StatusOK {
		t.Errorf("status %d after the garbage, want 200", resp.StatusCode)
	}
}

// startEcho serves on loopback, echoing what it reads without a greeting,
// as a debug server that waits for its client to speak does.
func startEcho(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})

	return l.Addr().String()
}

func TestProxyDetectsByteProtocols(t *testing.T) {
	p := startProxy(t, ProxyConfig{Resolve: fixed(startEcho(t))})
	// Delve's JSON-RPC, DAP, and a one-byte message that waits for its
	// response (a byte no HTTP method starts with): all are forwarded as they
	// are.
	for _, msg := range []string{
		`{"method":"RPCServer.SetApiVersion","params":[{"APIVersion":2}],"id":0}` + "\n",
		"Content-Length: 63\r\n\r\n" + `{"seq":1,"type":"request","command":"initialize","arguments":{}}`,
		"x",
	} {
		c := dial(t, p)
		if _, err := io.WriteString(c, msg); err != nil {
			t.Fatal(err)
		}
		if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("reading the echo of %q: %v", msg, err)
		}
		if string(got) != msg {
			t.Errorf("echo %q, want %q", got, msg)
		}
	}
	if got := p.Debuggers(); got != 0 {
		t.Errorf("Debuggers() = %d for byte connections, want 0", got)
	}
}

func TestLooksLikeHTTP(t *testing.T) {
	for in, want := range map[string]bool{
		"GET /json HTTP/1.1\r\n": true,
		"OPTIONS * HTTP/1.1":     true,
		"PUT /json/new":          true,
		"get /json":              false,
		"GETTINGS ":              false,
		" GET":                   false,
		"{\"id\":1}":             false,
		"Content-Length: 2":      false,
		"GET":                    false, // the stream ends before the space
		"":                       false,
	} {
		if got := looksLikeHTTP(bufio.NewReader(strings.NewReader(in))); got != want {
			t.Errorf("looksLikeHTTP(%q) = %v, want %v", in, got, want)
		}
	}
}
