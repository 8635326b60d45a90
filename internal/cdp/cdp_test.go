package cdp

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testWait bounds each call and wait of a test.
const testWait = 5 * time.Second

// call is a request as the fake inspector reads it.
type call struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

// fakeInspector serves the WebSocket handshake at any path and hands each
// connection to session. It records the handshake requests.
type fakeInspector struct {
	srv     *httptest.Server
	session func(*websocket.Conn)

	mu       sync.Mutex
	requests []*http.Request
}

func startFake(t *testing.T, session func(*websocket.Conn)) *fakeInspector {
	t.Helper()
	f := &fakeInspector{session: session}
	mux := http.NewServeMux()
	mux.HandleFunc("/json/list", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode([]Target{{
			ID:                   "target-1",
			Type:                 "node",
			WebSocketDebuggerURL: "ws://" + r.Host + "/target-1",
		}})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r)
		f.mu.Unlock()
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		conn, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		f.session(conn)
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// addr returns the fake's host:port.
func (f *fakeInspector) addr() string {
	return strings.TrimPrefix(f.srv.URL, "http://")
}

// dial connects to the fake and closes the connection when the test ends.
func (f *fakeInspector) dial(t *testing.T) *Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	c, err := Dial(ctx, "", "ws://"+f.addr()+"/target-1")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readCalls reads n requests off conn, failing the session on an error.
func readCalls(conn *websocket.Conn, n int) ([]call, bool) {
	var calls []call
	for range n {
		var c call
		if err := conn.ReadJSON(&c); err != nil {
			return calls, false
		}
		calls = append(calls, c)
	}
	return calls, true
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	t.Cleanup(cancel)
	return ctx
}

func TestCallMatchesResponseByID(t *testing.T) {
	// The fake waits for both calls and responds to the second one first,
	// each with a result that names the method of the call.
	f := startFake(t, func(conn *websocket.Conn) {
		calls, ok := readCalls(conn, 2)
		if !ok {
			return
		}
		for _, i := range []int{1, 0} {
			result := map[string]any{"method": calls[i].Method}
			if err := conn.WriteJSON(map[string]any{"id": calls[i].ID, "result": result}); err != nil {
				return
			}
		}
		_, _ = readCalls(conn, 1)
	})
	c := f.dial(t)
	ctx := testContext(t)

	var wg sync.WaitGroup
	got := make([]string, 2)
	errs := make([]error, 2)
	for i, method := range []string{"First.call", "Second.call"} {
		wg.Go(func() {
			raw, err := c.Call(ctx, method, map[string]any{"n": i})
			if err != nil {
				errs[i] = err
				return
			}
			var r struct{ Method string }
			errs[i] = json.Unmarshal(raw, &r)
			got[i] = r.Method
		})
	}
	wg.Wait()
	for i, want := range []string{"First.call", "Second.call"} {
		if errs[i] != nil {
			t.Errorf("%s: %v", want, errs[i])
		}
		if got[i] != want {
			t.Errorf("the call of %s returned the result for %q", want, got[i])
		}
	}
}

func TestWaitEventKeepsEarlierEvents(t *testing.T) {
	// Two events come before the response to the call, a third after it.
	f := startFake(t, func(conn *websocket.Conn) {
		calls, ok := readCalls(conn, 1)
		if !ok {
			return
		}
		for _, m := range []map[string]any{
			{"method": "Debugger.scriptParsed", "params": map[string]any{"url": "a.js"}},
			{"method": "Debugger.paused", "params": map[string]any{"reason": "first"}},
			{"id": calls[0].ID, "result": map[string]any{}},
			{"method": "Debugger.resumed", "params": map[string]any{}},
			{"method": "Debugger.paused", "params": map[string]any{"reason": "second"}},
		} {
			if err := conn.WriteJSON(m); err != nil {
				return
			}
		}
		_, _ = readCalls(conn, 1)
	})
	c := f.dial(t)
	ctx := testContext(t)

	if _, err := c.Call(ctx, "Debugger.enable", nil); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "second"} {
		raw, err := c.WaitEvent(ctx, "Debugger.paused")
		if err != nil {
			t.Fatalf("waiting for the %s pause: %v", want, err)
		}
		var p Pause
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Reason != want {
			t.Errorf("Debugger.paused with reason %q, want %q", p.Reason, want)
		}
	}

	// The wait for the second pause dropped the events before it.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if raw, err := c.WaitEvent(short, "Debugger.scriptParsed"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitEvent(Debugger.scriptParsed) after later events were taken = %s, %v, want a timeout", raw, err)
	}
}

func TestCallErrorResponse(t *testing.T) {
	f := startFake(t, func(conn *websocket.Conn) {
		calls, ok := readCalls(conn, 1)
		if !ok {
			return
		}
		msg := map[string]any{"id": calls[0].ID, "error": map[string]any{"code": -32601, "message": "'No.such' wasn't found"}}
		if err := conn.WriteJSON(msg); err != nil {
			return
		}
		_, _ = readCalls(conn, 1)
	})
	c := f.dial(t)

	raw, err := c.Call(testContext(t), "No.such", nil)
	var cdpErr *Error
	if !errors.As(err, &cdpErr) {
		t.Fatalf("Call(No.such) = %s, %v, want an *Error", raw, err)
	}
	if cdpErr.Code != -32601 || cdpErr.Message != "'No.such' wasn't found" {
		t.Errorf("error response decoded as %+v", cdpErr)
	}
	if !strings.Contains(err.Error(), "No.such") {
		t.Errorf("error %q does not name the method", err)
	}
}

func TestConnectionEndCutsCallShort(t *testing.T) {
	// The fake reads the call and ends the connection without a response.
	f := startFake(t, func(conn *websocket.Conn) {
		_, _ = readCalls(conn, 1)
	})
	c := f.dial(t)
	ctx := testContext(t)

	if _, err := c.Call(ctx, "Runtime.evaluate", map[string]any{"expression": "1"}); !errors.Is(err, ErrEnded) {
		t.Fatalf("Call when the connection ends = %v, want ErrEnded", err)
	}
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if c.Err() == nil {
		t.Error("Err() = nil after the connection ended")
	}
	if _, err := c.WaitEvent(ctx, "Debugger.paused"); !errors.Is(err, ErrEnded) {
		t.Errorf("WaitEvent after the end = %v, want ErrEnded", err)
	}
	if _, err := c.Call(ctx, "Runtime.enable", nil); !errors.Is(err, ErrEnded) {
		t.Errorf("Call after the end = %v, want ErrEnded", err)
	}
}

func TestWaitTimesOutWhileOpen(t *testing.T) {
	f := startFake(t, func(conn *websocket.Conn) {
		_, _ = readCalls(conn, 1)
	})
	c := f.dial(t)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait on an open connection = %v, want a timeout", err)
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() = %v while the connection is open", err)
	}
}

func TestDialerAddrAndHeader(t *testing.T) {
	f := startFake(t, func(conn *websocket.Conn) {
		_, _ = readCalls(conn, 1)
	})
	ctx := testContext(t)

	// The URL names a host that does not resolve; Addr is used instead.
	d := Dialer{Addr: f.addr(), Header: http.Header{"Origin": {"devtools://devtools"}}}
	c, err := d.Dial(ctx, "ws://devbox.invalid:9229/target-1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.requests) != 1 {
		t.Fatalf("the fake received %d handshakes, want 1", len(f.requests))
	}
	r := f.requests[0]
	if r.Host != "devbox.invalid:9229" {
		t.Errorf("handshake Host = %q, want the URL's devbox.invalid:9229", r.Host)
	}
	if got := r.Header.Get("Origin"); got != "devtools://devtools" {
		t.Errorf("handshake Origin = %q, want devtools://devtools", got)
	}
}

func TestDialRejected(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()

	_, err := Dial(testContext(t), "", "ws"+strings.TrimPrefix(srv.URL, "http")+"/target-1")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Dial to a server without WebSocket = %v, want an error with the status 404", err)
	}
}

func TestListTargetsSendsHost(t *testing.T) {
	f := startFake(t, func(*websocket.Conn) {})

	targets, err := ListTargets(testContext(t), f.addr(), "devbox.test:9229")
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 {
		t.Fatalf("ListTargets returned %+v, want one target", targets)
	}
	if want := "ws://devbox.test:9229/target-1"; targets[0].WebSocketDebuggerURL != want {
		t.Errorf("webSocketDebuggerUrl = %q, want %q", targets[0].WebSocketDebuggerURL, want)
	}
	if targets[0].ID != "target-1" {
		t.Errorf("id = %q, want target-1", targets[0].ID)
	}
}

func TestListTargetsStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such target", http.StatusForbidden)
	}))
	defer srv.Close()

	_, err := ListTargets(testContext(t), strings.TrimPrefix(srv.URL, "http://"), "")
	if err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("ListTargets on a 403 = %v, want an error with the status", err)
	}
}

func TestCloseOnEvent(t *testing.T) {
	f := startFake(t, func(conn *websocket.Conn) {
		msg := map[string]any{"method": "Runtime.executionContextDestroyed", "params": map[string]any{"executionContextId": 1}}
		if err := conn.WriteJSON(msg); err != nil {
			return
		}
		// The fake stays open until the client leaves.
		_, _ = readCalls(conn, 1)
	})
	ctx := testContext(t)
	d := Dialer{CloseOn: "Runtime.executionContextDestroyed"}
	c, err := d.Dial(ctx, "ws://"+f.addr()+"/target-1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if err := c.Wait(ctx); err != nil {
		t.Fatalf("the connection stayed open after the CloseOn event: %v", err)
	}
	if err := c.Err(); err == nil || !strings.Contains(err.Error(), "Runtime.executionContextDestroyed") {
		t.Errorf("Err() = %v, want the CloseOn event as the reason", err)
	}
	// The event itself is kept.
	if _, err := c.WaitEvent(ctx, "Runtime.executionContextDestroyed"); err != nil {
		t.Errorf("WaitEvent for the CloseOn event: %v", err)
	}
}

func TestDebuggerHelpers(t *testing.T) {
	// The fake replies as Node.js does, and pauses right after the
	// breakpoint is set.
	f := startFake(t, func(conn *websocket.Conn) {
		for {
			var c call
			if err := conn.ReadJSON(&c); err != nil {
				return
			}
			var params struct {
				Expression  string `json:"expression"`
				CallFrameID string `json:"callFrameId"`
			}
			_ = json.Unmarshal(c.Params, &params)
			var result any = map[string]any{}
			var events []map[string]any
			switch c.Method {
			case "Debugger.setBreakpointByUrl":
				result = map[string]any{"breakpointId": "bp-1", "locations": []any{}}
				events = append(events, map[string]any{"method": "Debugger.paused", "params": map[string]any{
					"reason": "other", "hitBreakpoints": []string{"bp-1"},
					"callFrames": []any{map[string]any{"callFrameId": "frame-0", "url": "file:///app/a.js", "location": map[string]any{"scriptId": "7", "lineNumber": 3}}},
				}})
			case "Runtime.evaluate":
				if params.Expression == "throw 1" {
					result = map[string]any{"result": map[string]any{"type": "number"}, "exceptionDetails": map[string]any{"text": "Uncaught", "exception": map[string]any{"description": "1"}}}
				} else {
					result = map[string]any{"result": map[string]any{"type": "number", "value": 42}}
				}
			case "Debugger.evaluateOnCallFrame":
				result = map[string]any{"result": map[string]any{"type": "string", "value": params.CallFrameID + ":" + params.Expression}}
			case "Debugger.resume":
				events = append(events, map[string]any{"method": "Debugger.resumed", "params": map[string]any{}})
			}
			if err := conn.WriteJSON(map[string]any{"id": c.ID, "result": result}); err != nil {
				return
			}
			for _, e := range events {
				if err := conn.WriteJSON(e); err != nil {
					return
				}
			}
		}
	})
	c := f.dial(t)
	ctx := testContext(t)

	if got, err := c.Evaluate(ctx, "6*7"); err != nil || got != float64(42) {
		t.Errorf("Evaluate(6*7) = %v, %v, want 42", got, err)
	}
	if got, err := c.Evaluate(ctx, "throw 1"); err == nil || !strings.Contains(err.Error(), "Uncaught") {
		t.Errorf("Evaluate(throw 1) = %v, %v, want the exception as an error", got, err)
	}
	id, err := c.SetBreakpoint(ctx, "file:///app/a.js", 3)
	if err != nil || id != "bp-1" {
		t.Fatalf("SetBreakpoint = %q, %v, want bp-1", id, err)
	}
	p, err := c.WaitPause(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.HitBreakpoints) != 1 || p.HitBreakpoints[0] != "bp-1" {
		t.Errorf("hit breakpoints %v, want [bp-1]", p.HitBreakpoints)
	}
	if got := p.CallFrames[0].Location; got.LineNumber != 3 || got.ScriptID != "7" {
		t.Errorf("paused at %+v, want line 3 of script 7", got)
	}
	if got, err := c.EvaluateOn(ctx, p.CallFrames[0].CallFrameID, "token"); err != nil || got != "frame-0:token" {
		t.Errorf("EvaluateOn(frame-0, token) = %v, %v, want frame-0:token", got, err)
	}
	if err := c.Resume(ctx); err != nil {
		t.Errorf("Resume: %v", err)
	}
}
