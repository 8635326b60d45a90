package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// debugWait bounds waiting for one response or event of the inspector.
const debugWait = 10 * time.Second

// inspectorMessage is a message of the inspector: a response (ID set) or
// an event (Method set).
type inspectorMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// inspectorSession is a Chrome DevTools Protocol client attached through
// devd as an IDE attaches. It reads the target list by a host name, then
// opens the WebSocket URL from the list. It connects to devd's address
// whatever name the URL contains, as a name in /etc/hosts would.
type inspectorSession struct {
	t      *testing.T
	conn   *websocket.Conn
	in     chan inspectorMessage // closed when the session ends
	target string                // the target id attached to
	url    string                // the WebSocket URL used

	mu     sync.Mutex
	next   int
	events []inspectorMessage // guarded by mu, not yet taken
	err    error              // why the session ended, set before in is closed
}

// inspectorTargetOf is a target in /json/list.
type inspectorTargetOf struct {
	ID  string `json:"id"`
	URL string `json:"webSocketDebuggerUrl"`
}

// listInspectorTargets reads /json/list through devd with the given host
// name, or returns the error.
func listInspectorTargets(addr, hostName string) ([]inspectorTargetOf, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	body, err := httpGetHost("http://"+addr+"/json/list", hostName+":"+port)
	if err != nil {
		return nil, err
	}
	var targets []inspectorTargetOf
	if err := json.Unmarshal([]byte(body), &targets); err != nil {
		return nil, fmt.Errorf("reading /json/list %q: %w", body, err)
	}
	return targets, nil
}

// attachByName waits until /json/list through devd, asked by hostName,
// lists a target other than notID, checks that its URL names hostName and
// devd's port, and opens the session.
func attachByName(t *testing.T, addr, hostName, notID string) *inspectorSession {
	t.Helper()
	var target inspectorTargetOf
	var lastErr error
	waitFor(t, changeTimeout, "the inspector to list a target through devd", func() bool {
		targets, err := listInspectorTargets(addr, hostName)
		if err != nil || len(targets) != 1 || targets[0].ID == notID {
			lastErr = fmt.Errorf("targets %+v, error %v", targets, err)
			return false
		}
		target = targets[0]
		return true
	})
	_ = lastErr
	_, port, _ := net.SplitHostPort(addr)
	if want := "ws://" + hostName + ":" + port + "/" + target.ID; target.URL != want {
		t.Fatalf("by %s, webSocketDebuggerUrl = %q, want %q", hostName, target.URL, want)
	}
	s, err := openInspector(t, addr, target.URL)
	if err != nil {
		t.Fatalf("opening %s through devd: %v", target.URL, err)
	}
	s.target = target.ID
	return s
}

// openInspector opens a WebSocket URL, connecting to devd's address.
func openInspector(t *testing.T, addr, wsURL string) (*inspectorSession, error) {
	t.Helper()
	dialer := websocket.Dialer{
		HandshakeTimeout: debugWait,
		NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
	}
	conn, resp, err := dialer.Dial(wsURL, nil)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	s := &inspectorSession{t: t, conn: conn, in: make(chan inspectorMessage, 256), url: wsURL}
	s.target = wsURL[strings.LastIndex(wsURL, "/")+1:]
	go s.read()
	t.Cleanup(func() { _ = conn.Close() })
	return s, nil
}

func (s *inspectorSession) read() {
	defer close(s.in)
	for {
		var m inspectorMessage
		if err := s.conn.ReadJSON(&m); err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		s.in <- m
	}
}

// call sends a command and returns its result, keeping the events that
// arrive meanwhile.
func (s *inspectorSession) call(method string, params any) json.RawMessage {
	s.t.Helper()
	s.mu.Lock()
	s.next++
	id := s.next
	s.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(debugWait))
	if err := s.conn.WriteJSON(msg); err != nil {
		s.t.Fatalf("sending %s: %v", method, err)
	}

	timeout := time.NewTimer(debugWait)
	defer timeout.Stop()
	for {
		select {
		case m, ok := <-s.in:
			if !ok {
				s.t.Fatalf("session ended while waiting for the answer to %s: %v", method, s.endErr())
			}
			if m.ID == id {
				if m.Error != nil {
					s.t.Fatalf("%s failed: %s", method, m.Error.Message)
				}
				return m.Result
			}
			if m.Method != "" {
				s.mu.Lock()
				s.events = append(s.events, m)
				s.mu.Unlock()
			}
		case <-timeout.C:
			s.t.Fatalf("no answer to %s within %s", method, debugWait)
		}
	}
}

// waitEvent returns the params of the first event named method, kept or
// still to come, and drops the events before it.
func (s *inspectorSession) waitEvent(method string) json.RawMessage {
	s.t.Helper()
	s.mu.Lock()
	for i, m := range s.events {
		if m.Method == method {
			s.events = s.events[i+1:]
			s.mu.Unlock()
			return m.Params
		}
	}
	s.events = nil
	s.mu.Unlock()

	timeout := time.NewTimer(debugWait)
	defer timeout.Stop()
	for {
		select {
		case m, ok := <-s.in:
			if !ok {
				s.t.Fatalf("session ended while waiting for %s: %v", method, s.endErr())
			}
			if m.Method == method {
				return m.Params
			}
		case <-timeout.C:
			s.t.Fatalf("no %s event within %s", method, debugWait)
		}
	}
}

func (s *inspectorSession) endErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// waitEnded waits for devd or the inspector to end the session, failing
// the test when it is still open after debugWait.
func (s *inspectorSession) waitEnded() {
	s.t.Helper()
	_ = s.conn.SetReadDeadline(time.Now().Add(debugWait))
	for range s.in {
	}
	var ne net.Error
	if err := s.endErr(); errors.As(err, &ne) && ne.Timeout() {
		s.t.Fatalf("session still open after %s", debugWait)
	}
}

// setBreakpoint enables the debugger, as an IDE does right after
// attaching, and sets a breakpoint by URL and 0-based line.
func (s *inspectorSession) setBreakpoint(url string, line int) string {
	s.t.Helper()
	s.call("Debugger.enable", nil)
	var bp struct {
		BreakpointID string `json:"breakpointId"`
	}
	raw := s.call("Debugger.setBreakpointByUrl", map[string]any{"url": url, "lineNumber": line})
	if err := json.Unmarshal(raw, &bp); err != nil || bp.BreakpointID == "" {
		s.t.Fatalf("Debugger.setBreakpointByUrl answered %s: %v", raw, err)
	}
	return bp.BreakpointID
}

// pause is the part of Debugger.paused that the tests check.
type pause struct {
	HitBreakpoints []string `json:"hitBreakpoints"`
	CallFrames     []struct {
		CallFrameID string `json:"callFrameId"`
		URL         string `json:"url"`
		Location    struct {
			LineNumber int `json:"lineNumber"`
		} `json:"location"`
	} `json:"callFrames"`
}

// waitBreakpoint waits for the program to pause at breakpoint id on line.
func (s *inspectorSession) waitBreakpoint(id string, line int) pause {
	s.t.Helper()
	var p pause
	raw := s.waitEvent("Debugger.paused")
	if err := json.Unmarshal(raw, &p); err != nil || len(p.CallFrames) == 0 {
		s.t.Fatalf("reading Debugger.paused %s: %v", raw, err)
	}
	if len(p.HitBreakpoints) != 1 || p.HitBreakpoints[0] != id {
		s.t.Errorf("paused at breakpoints %v, want [%s]", p.HitBreakpoints, id)
	}
	if got := p.CallFrames[0].Location.LineNumber; got != line {
		s.t.Errorf("paused on line %d, want %d", got, line)
	}
	return p
}

// evaluateOn evaluates expr in a paused call frame and returns its value.
func (s *inspectorSession) evaluateOn(frame, expr string) any {
	s.t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	raw := s.call("Debugger.evaluateOnCallFrame", map[string]any{"callFrameId": frame, "expression": expr, "returnByValue": true})
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Fatalf("reading Debugger.evaluateOnCallFrame result %s: %v", raw, err)
	}
	return r.Result.Value
}

// resume lets the program go on and waits for the inspector to say so.
func (s *inspectorSession) resume() {
	s.t.Helper()
	s.call("Debugger.resume", nil)
	s.waitEvent("Debugger.resumed")
}

// evaluate runs expr in the program and returns its value.
func (s *inspectorSession) evaluate(expr string) any {
	s.t.Helper()
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	raw := s.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Fatalf("reading Runtime.evaluate result %s: %v", raw, err)
	}
	return r.Result.Value
}
