package debug

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// cdpWait bounds waiting for one response or event of the inspector.
const cdpWait = 5 * time.Second

// cdpMessage is a message from the inspector: a response (ID set) or an
// event (Method set).
type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// cdpClient is a Chrome DevTools Protocol client that keeps every event,
// so a test can wait for one after the fact.
type cdpClient struct {
	t    *testing.T
	conn *websocket.Conn
	in   chan cdpMessage // closed when the connection ends
	err  error           // why it ended, set before in is closed

	mu     sync.Mutex
	next   int
	events []cdpMessage // guarded by mu, not yet taken
}

// dialCDP opens wsURL, connecting to proxyAddr whatever host the URL
// names, as a name in /etc/hosts that points at the proxy would.
func dialCDP(t *testing.T, proxyAddr, wsURL string, header http.Header) (*cdpClient, error) {
	t.Helper()
	dialer := websocket.Dialer{
		HandshakeTimeout: cdpWait,
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", proxyAddr)
		},
	}
	conn, resp, err := dialer.Dial(wsURL, header)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	c := &cdpClient{t: t, conn: conn, in: make(chan cdpMessage, 64)}
	go c.read()
	t.Cleanup(func() { _ = conn.Close() })

	return c, nil
}

func (c *cdpClient) read() {
	defer close(c.in)
	for {
		var m cdpMessage
		if err := c.conn.ReadJSON(&m); err != nil {
			c.err = err
			return
		}
		c.in <- m
	}
}

// call sends a command and returns its result, keeping the events that
// arrive meanwhile.
func (c *cdpClient) call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	if err := c.conn.SetWriteDeadline(time.Now().Add(cdpWait)); err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.WriteJSON(msg); err != nil {
		c.t.Fatalf("sending %s: %v", method, err)
	}
	timeout := time.After(cdpWait)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("connection closed while waiting for the answer to %s", method)
			}
			if m.ID == id {
				if m.Error != nil {
					c.t.Fatalf("%s failed: %s", method, m.Error.Message)
				}
				return m.Result
			}
			if m.Method != "" {
				c.mu.Lock()
				c.events = append(c.events, m)
				c.mu.Unlock()
			}
		case <-timeout:
			c.t.Fatalf("no answer to %s within %s", method, cdpWait)
		}
	}
}

// waitEvent returns the params of the first event named method, kept or
// still to come, and drops the events before it.
func (c *cdpClient) waitEvent(method string) json.RawMessage {
	c.t.Helper()
	c.mu.Lock()
	for i, m := range c.events {
		if m.Method == method {
			c.events = c.events[i+1:]
			c.mu.Unlock()
			return m.Params
		}
	}
	c.events = nil
	c.mu.Unlock()

	timeout := time.After(cdpWait)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("connection closed while waiting for %s", method)
			}
			if m.Method == method {
				return m.Params
			}
		case <-timeout:
			c.t.Fatalf("no %s event within %s", method, cdpWait)
		}
	}
}

// waitClosed waits for the connection to end, and fails the test when it
// stays open for closeWait.
func (c *cdpClient) waitClosed() {
	c.t.Helper()
	if err := c.conn.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		c.t.Fatal(err)
	}
	for range c.in {
	}
	var ne net.Error
	if errors.As(c.err, &ne) && ne.Timeout() {
		c.t.Fatalf("session still open after %s", closeWait)
	}
}

// evaluate runs expr in the program and returns its value.
func (c *cdpClient) evaluate(expr string) any {
	c.t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	raw := c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err := json.Unmarshal(raw, &r); err != nil {
		c.t.Fatalf("reading Runtime.evaluate result %s: %v", raw, err)
	}

	return r.Result.Value
}

// pausedAt is the part of Debugger.paused a test checks.
type pausedAt struct {
	Reason         string   `json:"reason"`
	HitBreakpoints []string `json:"hitBreakpoints"`
	CallFrames     []struct {
		CallFrameID string `json:"callFrameId"`
		Location    struct {
			LineNumber int `json:"lineNumber"`
		} `json:"location"`
	} `json:"callFrames"`
}

func (c *cdpClient) waitPaused() pausedAt {
	c.t.Helper()
	var p pausedAt
	raw := c.waitEvent("Debugger.paused")
	if err := json.Unmarshal(raw, &p); err != nil {
		c.t.Fatalf("reading Debugger.paused: %v", err)
	}
	if len(p.CallFrames) == 0 {
		c.t.Fatalf("Debugger.paused without call frames: %s", raw)
	}

	return p
}

// lineOf returns the 0-based number of the first line of src that
// contains marker, as CDP counts lines.
func lineOf(t *testing.T, src, marker string) int {
	t.Helper()
	for i, line := range strings.Split(src, "\n") {
		if strings.Contains(line, marker) {
			return i
		}
	}
	t.Fatalf("no line contains %q", marker)

	return 0
}
