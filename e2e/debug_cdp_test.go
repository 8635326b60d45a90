package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/internal/cdp"
)

const (
	// debugWait bounds waiting for one response or event of the inspector.
	debugWait = 10 * time.Second
	// listWait bounds one GET of /json/list.
	listWait = 2 * time.Second
)

// inspectorSession is a Chrome DevTools Protocol client attached through
// devd as an IDE attaches, whose methods fail the test on an error. It
// connects to devd's address whatever name the URL contains, as a name in
// /etc/hosts would.
type inspectorSession struct {
	t      *testing.T
	conn   *cdp.Conn
	target string // the target id attached to
	url    string // the WebSocket URL used
}

// listInspectorTargets reads /json/list through devd with the given host
// name, or returns the error.
func listInspectorTargets(addr, hostName string) ([]cdp.Target, error) {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), listWait)
	defer cancel()
	return cdp.ListTargets(ctx, addr, hostName+":"+port)
}

// attachByName waits until /json/list through devd, asked by hostName,
// lists a target other than notID, checks that its URL names hostName and
// devd's port, and opens the session.
func attachByName(t *testing.T, addr, hostName, notID string) *inspectorSession {
	t.Helper()
	var target cdp.Target
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
	if want := "ws://" + hostName + ":" + port + "/" + target.ID; target.WebSocketDebuggerURL != want {
		t.Fatalf("by %s, webSocketDebuggerUrl = %q, want %q", hostName, target.WebSocketDebuggerURL, want)
	}
	s, err := openInspector(t, addr, target.WebSocketDebuggerURL)
	if err != nil {
		t.Fatalf("opening %s through devd: %v", target.WebSocketDebuggerURL, err)
	}
	s.target = target.ID
	return s
}

// openInspector opens a WebSocket URL, connecting to devd's address.
func openInspector(t *testing.T, addr, wsURL string) (*inspectorSession, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), debugWait)
	defer cancel()
	conn, err := cdp.Dial(ctx, addr, wsURL)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = conn.Close() })
	s := &inspectorSession{t: t, conn: conn, url: wsURL}
	s.target = wsURL[strings.LastIndex(wsURL, "/")+1:]
	return s, nil
}

// waitContext returns a context that ends after debugWait.
func (s *inspectorSession) waitContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), debugWait)
}

// call sends a command and returns its result, keeping the events that
// arrive meanwhile.
func (s *inspectorSession) call(method string, params any) json.RawMessage {
	s.t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	raw, err := s.conn.Call(ctx, method, params)
	if err != nil {
		s.t.Fatal(err)
	}
	return raw
}

// waitEnded waits for devd or the inspector to end the session, failing
// the test when it is still open after debugWait.
func (s *inspectorSession) waitEnded() {
	s.t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	if err := s.conn.Wait(ctx); err != nil {
		s.t.Fatalf("session still open after %s", debugWait)
	}
}

// setBreakpoint enables the debugger, as an IDE does right after
// attaching, and sets a breakpoint by URL and 0-based line.
func (s *inspectorSession) setBreakpoint(url string, line int) string {
	s.t.Helper()
	s.call("Debugger.enable", nil)
	ctx, cancel := s.waitContext()
	defer cancel()
	id, err := s.conn.SetBreakpoint(ctx, url, line)
	if err != nil {
		s.t.Fatal(err)
	}
	return id
}

// waitBreakpoint waits for the program to pause at breakpoint id on line.
func (s *inspectorSession) waitBreakpoint(id string, line int) *cdp.Pause {
	s.t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	p, err := s.conn.WaitPause(ctx)
	if err != nil {
		s.t.Fatal(err)
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
	ctx, cancel := s.waitContext()
	defer cancel()
	v, err := s.conn.EvaluateOn(ctx, frame, expr)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

// resume lets the program go on and waits for the inspector to say so.
func (s *inspectorSession) resume() {
	s.t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	if err := s.conn.Resume(ctx); err != nil {
		s.t.Fatal(err)
	}
}

// evaluate runs expr in the program and returns its value.
func (s *inspectorSession) evaluate(expr string) any {
	s.t.Helper()
	ctx, cancel := s.waitContext()
	defer cancel()
	v, err := s.conn.Evaluate(ctx, expr)
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}
