package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// cdpWait bounds one response of the inspector.
const cdpWait = 5 * time.Second

// cdpMessage is a response (ID set) or an event (Method set).
type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// cdpSession is a Chrome DevTools Protocol session with a Node.js
// inspector, attached the way an IDE attaches: /json/list, then the
// WebSocket URL it lists.
type cdpSession struct {
	conn   *websocket.Conn
	in     chan cdpMessage // closed when the session ends
	events chan cdpMessage // Debugger.paused events
	mu     sync.Mutex
	next   int
	wait   map[int]chan cdpMessage
}

// attachNode opens a session with the inspector at addr, sets a breakpoint
// on line (1-based) of the script at scriptURL and lets the program run.
func attachNode(ctx context.Context, addr, scriptURL string, line int) (*cdpSession, error) {
	ctx, cancel := context.WithTimeout(ctx, cdpWait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/json/list", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var targets []struct {
		URL string `json:"webSocketDebuggerUrl"`
	}
	if err := json.Unmarshal(body, &targets); err != nil || len(targets) == 0 || targets[0].URL == "" {
		return nil, fmt.Errorf("no inspector target in %q", body)
	}
	u, err := url.Parse(targets[0].URL)
	if err != nil {
		return nil, err
	}
	dialer := websocket.Dialer{NetDialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}}
	conn, _, err := dialer.DialContext(ctx, u.String(), nil)
	if err != nil {
		return nil, err
	}
	s := &cdpSession{conn: conn, in: make(chan cdpMessage), events: make(chan cdpMessage, 16), wait: map[int]chan cdpMessage{}}
	go s.read()
	for _, c := range []struct {
		method string
		params any
	}{
		{"Runtime.enable", nil},
		{"Debugger.enable", nil},
		{"Debugger.setBreakpointByUrl", map[string]any{"url": scriptURL, "lineNumber": line - 1}},
		{"Runtime.runIfWaitingForDebugger", nil},
	} {
		if _, err := s.call(c.method, c.params); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

// read delivers responses to their callers and pauses to events, and
// closes in when the connection ends.
func (s *cdpSession) read() {
	defer close(s.in)
	for {
		var m cdpMessage
		if err := s.conn.ReadJSON(&m); err != nil {
			return
		}
		if m.Method == "Runtime.executionContextDestroyed" {
			// The program is ending. Node.js waits for its debuggers to
			// leave before it exits, so the client leaves, as an IDE
			// must for the program to exit. Otherwise the container's
			// stop waits for Docker's kill.
			_ = s.conn.Close()
			return
		}
		if m.Method == "Debugger.paused" {
			select {
			case s.events <- m:
			default:
			}
			continue
		}
		s.mu.Lock()
		ch := s.wait[m.ID]
		delete(s.wait, m.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	}
}

func (s *cdpSession) close() {
	if s != nil {
		_ = s.conn.Close()
	}
}

// done is closed when the session has ended.
func (s *cdpSession) done() <-chan cdpMessage { return s.in }

func (s *cdpSession) call(method string, params any) (json.RawMessage, error) {
	s.mu.Lock()
	s.next++
	id := s.next
	ch := make(chan cdpMessage, 1)
	s.wait[id] = ch
	s.mu.Unlock()
	msg := map[string]any{"id": id, "method": method}
	if params != nil {
		msg["params"] = params
	}
	_ = s.conn.SetWriteDeadline(time.Now().Add(cdpWait))
	s.mu.Lock()
	err := s.conn.WriteJSON(msg)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("sending %s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-s.in:
		return nil, fmt.Errorf("session ended while waiting for %s", method)
	case <-time.After(cdpWait):
		return nil, fmt.Errorf("no response to %s within %s", method, cdpWait)
	}
}

// awaitPause waits for Debugger.paused and returns the value of expr in
// the top frame.
func (s *cdpSession) awaitPause(timeout time.Duration, expr string) (string, error) {
	var m cdpMessage
	select {
	case m = <-s.events:
	case <-s.in:
		return "", errors.New("session ended before the program paused")
	case <-time.After(timeout):
		return "", fmt.Errorf("no pause within %s", timeout)
	}
	var p struct {
		CallFrames []struct {
			CallFrameID string `json:"callFrameId"`
		} `json:"callFrames"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil || len(p.CallFrames) == 0 {
		return "", fmt.Errorf("reading Debugger.paused %s: %v", m.Params, err)
	}
	raw, err := s.call("Debugger.evaluateOnCallFrame", map[string]any{
		"callFrameId": p.CallFrames[0].CallFrameID, "expression": expr, "returnByValue": true})
	if err != nil {
		return "", err
	}
	var r struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return "", err
	}
	return fmt.Sprint(r.Result.Value), nil
}

func (s *cdpSession) resume() error {
	_, err := s.call("Debugger.resume", nil)
	return err
}
