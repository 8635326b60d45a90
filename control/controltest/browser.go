package controltest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// browserStartTimeout bounds how long Chromium may take to open its
// DevTools endpoint.
const browserStartTimeout = 30 * time.Second

// Browser is a headless Chromium driven over the Chrome DevTools Protocol,
// with one page attached, for tests of the dashboard.
type Browser struct {
	// Timeout bounds each DevTools command and each WaitFor; StartBrowser
	// sets it to 10 seconds.
	Timeout time.Duration

	conn    *websocket.Conn
	session string // the page's flattened session ID

	writeMu sync.Mutex // serialises writes on conn

	mu      sync.Mutex
	nextID  int64                     // guarded by mu
	pending map[int64]chan cdpMessage // guarded by mu
	closed  error                     // guarded by mu; set when the reader stops
}

type cdpMessage struct {
	ID     int64           `json:"id,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// FindChromium returns the path of a Chromium binary. Without one it skips
// the test, or fails it when DEVD_E2E=1 requires one.
func FindChromium(t testing.TB) string {
	t.Helper()
	path, err := LookChromium()
	if err == nil {
		return path
	}
	if os.Getenv("DEVD_E2E") == "1" {
		t.Fatal(err)
	}
	t.Skip(err)
	return ""
}

// LookChromium returns the path of a Chromium binary, or an error with
// how to install one.
func LookChromium() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome in PATH: install Chromium (apt-get install chromium) to run the dashboard's browser tests")
}

// StartBrowser starts headless Chromium on url and attaches to the page.
// The browser stops when the test ends.
func StartBrowser(t testing.TB, url string) *Browser {
	t.Helper()
	chromium := FindChromium(t)

	cmd := exec.Command(chromium,
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-breakpad", "--disable-crash-reporter", "--user-data-dir="+t.TempDir(), "--remote-debugging-port=0", "--window-size=1280,1600",
		"about:blank")
	// Chromium starts helper processes: a process group lets the test stop
	// them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	})

	endpoint, output := devToolsEndpoint(t, stderr)
	if endpoint == "" {
		t.Fatalf("chromium printed no DevTools endpoint within %s:\n%s", browserStartTimeout, output)
	}

	conn, _, err := websocket.DefaultDialer.Dial(endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &Browser{Timeout: 10 * time.Second, conn: conn, pending: make(map[int64]chan cdpMessage)}
	go b.read()
	t.Cleanup(func() { conn.Close() })

	var target struct {
		TargetID string `json:"targetId"`
	}
	b.call(t, "", "Target.createTarget", map[string]any{"url": url}, &target)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	b.call(t, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached)
	b.session = attached.SessionID
	return b
}

// devToolsEndpoint reads Chromium's standard error until it prints its
// DevTools WebSocket address, then keeps draining it so Chromium never
// blocks on a full pipe.
func devToolsEndpoint(t testing.TB, stderr io.Reader) (endpoint, output string) {
	found := make(chan string, 1)
	var mu sync.Mutex
	var lines []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "DevTools listening on "); ok {
				found <- strings.TrimSpace(rest)
			}
		}
		close(found)
	}()
	select {
	case endpoint = <-found:
	case <-time.After(browserStartTimeout):
	}
	mu.Lock()
	defer mu.Unlock()
	return endpoint, strings.Join(lines, "\n")
}

func (b *Browser) read() {
	for {
		var msg cdpMessage
		if err := b.conn.ReadJSON(&msg); err != nil {
			b.mu.Lock()
			b.closed = err
			for id, ch := range b.pending {
				close(ch)
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		if msg.ID == 0 {
			continue // an event; the test polls instead
		}
		b.mu.Lock()
		ch := b.pending[msg.ID]
		delete(b.pending, msg.ID)
		b.mu.Unlock()
		if ch != nil {
			ch <- msg
		}
	}
}

// call sends a DevTools command and decodes its result into out.
func (b *Browser) call(t testing.TB, session, method string, params, out any) {
	t.Helper()
	b.mu.Lock()
	if b.closed != nil {
		b.mu.Unlock()
		t.Fatalf("%s: DevTools connection closed: %v", method, b.closed)
	}
	b.nextID++
	id := b.nextID
	ch := make(chan cdpMessage, 1)
	b.pending[id] = ch
	b.mu.Unlock()

	req := map[string]any{"id": id, "method": method, "params": params}
	if session != "" {
		req["sessionId"] = session
	}
	b.writeMu.Lock()
	err := b.conn.WriteJSON(req)
	b.writeMu.Unlock()
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}

	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatalf("%s: DevTools connection closed", method)
		}
		if msg.Error != nil {
			t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		if out != nil {
			if err := json.Unmarshal(msg.Result, out); err != nil {
				t.Fatalf("%s: decoding %s: %v", method, msg.Result, err)
			}
		}
	case <-time.After(b.Timeout):
		t.Fatalf("%s: no response within %s", method, b.Timeout)
	}
}

// Eval evaluates a JavaScript expression in the page and decodes its value
// into out.
func (b *Browser) Eval(t testing.TB, expr string, out any) {
	t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text      string `json:"text"`
			Exception struct {
				Description string `json:"description"`
			} `json:"exception"`
		} `json:"exceptionDetails"`
	}
	b.call(t, b.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if res.ExceptionDetails != nil {
		t.Fatalf("evaluating %s: %s %s", expr, res.ExceptionDetails.Text, res.ExceptionDetails.Exception.Description)
	}
	if out != nil && len(res.Result.Value) > 0 {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			t.Fatalf("evaluating %s: decoding %s: %v", expr, res.Result.Value, err)
		}
	}
}

// WaitFor evaluates a boolean expression until it is true, and fails the
// test with what describe evaluates to when it stays false.
func (b *Browser) WaitFor(t testing.TB, condition, expr, describe string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), b.Timeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		var ok bool
		b.Eval(t, expr, &ok)
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			var state string
			b.Eval(t, describe, &state)
			t.Fatalf("timed out waiting until %s; page state: %s", condition, state)
		case <-tick.C:
		}
	}
}

// Click presses and releases the left mouse button at the centre of the
// element that selector matches, as a user would.
func (b *Browser) Click(t testing.TB, selector string) {
	t.Helper()
	var box struct{ X, Y float64 }
	b.Eval(t, fmt.Sprintf(`(() => {
		const el = document.querySelector(%q);
		if (!el) throw new Error('no element matches ' + %q);
		el.scrollIntoView({block: 'center'});
		const r = el.getBoundingClientRect();
		return {X: r.left + r.width / 2, Y: r.top + r.height / 2};
	})()`, selector, selector), &box)
	for _, typ := range []string{"mousePressed", "mouseReleased"} {
		b.call(t, b.session, "Input.dispatchMouseEvent", map[string]any{
			"type": typ, "x": box.X, "y": box.Y, "button": "left", "clickCount": 1,
		}, nil)
	}
}
