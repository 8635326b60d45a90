package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/devdtool/devd/internal/cdp"
)

// cdpWait bounds one response of the inspector.
const cdpWait = 5 * time.Second

// attachNode opens a session with the Node.js inspector at addr, the way
// an IDE attaches (/json/list, then the WebSocket URL it lists), sets a
// breakpoint on line (1-based) of the script at scriptURL and lets the
// program run.
func attachNode(ctx context.Context, addr, scriptURL string, line int) (*cdp.Conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, cdpWait)
	defer cancel()
	targets, err := cdp.ListTargets(dialCtx, addr, "")
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 || targets[0].WebSocketDebuggerURL == "" {
		return nil, fmt.Errorf("no inspector target in /json/list: %+v", targets)
	}
	// The program is ending when its execution context is destroyed.
	// Node.js waits for its debuggers to leave before it exits, so the
	// client leaves, as an IDE must for the program to exit. Otherwise
	// the container's stop waits for Docker's kill.
	d := cdp.Dialer{Addr: addr, CloseOn: "Runtime.executionContextDestroyed"}
	conn, err := d.Dial(dialCtx, targets[0].WebSocketDebuggerURL)
	if err != nil {
		return nil, err
	}
	for _, c := range []struct {
		method string
		params any
	}{
		{"Runtime.enable", nil},
		{"Debugger.enable", nil},
		{"Debugger.setBreakpointByUrl", map[string]any{"url": scriptURL, "lineNumber": line - 1}},
		{"Runtime.runIfWaitingForDebugger", nil},
	} {
		callCtx, cancel := context.WithTimeout(ctx, cdpWait)
		_, err := conn.Call(callCtx, c.method, c.params)
		cancel()
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// awaitPause waits for Debugger.paused and returns the value of expr in
// the top frame.
func awaitPause(conn *cdp.Conn, timeout time.Duration, expr string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	p, err := conn.WaitPause(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return "", fmt.Errorf("no pause within %s", timeout)
	}
	if err != nil {
		return "", err
	}

	evalCtx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	v, err := conn.EvaluateOn(evalCtx, p.CallFrames[0].CallFrameID, expr)
	if err != nil {
		return "", err
	}
	return fmt.Sprint(v), nil
}
