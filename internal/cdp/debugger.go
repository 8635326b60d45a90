package cdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Pause is the part of a Debugger.paused event that this package decodes.
type Pause struct {
	Reason         string      `json:"reason"`
	HitBreakpoints []string    `json:"hitBreakpoints"`
	CallFrames     []CallFrame `json:"callFrames"`
}

// CallFrame is a frame of the paused program's stack, the innermost first.
type CallFrame struct {
	CallFrameID  string   `json:"callFrameId"`
	FunctionName string   `json:"functionName"`
	URL          string   `json:"url"`
	Location     Location `json:"location"`
}

// Location is a position in a script. Lines and columns count from 0.
type Location struct {
	ScriptID     string `json:"scriptId"`
	LineNumber   int    `json:"lineNumber"`
	ColumnNumber int    `json:"columnNumber"`
}

// evaluation is the result of Runtime.evaluate and
// Debugger.evaluateOnCallFrame.
type evaluation struct {
	Result struct {
		Value any `json:"value"`
	} `json:"result"`
	ExceptionDetails *struct {
		Text      string `json:"text"`
		Exception struct {
			Description string `json:"description"`
		} `json:"exception"`
	} `json:"exceptionDetails"`
}

// Evaluate runs the JavaScript expression expr in the program's global
// scope with Runtime.evaluate and returns its value, decoded from JSON.
// An exception that expr throws is returned as an error.
func (c *Conn) Evaluate(ctx context.Context, expr string) (any, error) {
	return c.evaluate(ctx, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
}

// EvaluateOn runs expr in the paused call frame frameID with
// Debugger.evaluateOnCallFrame and returns its value, as Evaluate does.
func (c *Conn) EvaluateOn(ctx context.Context, frameID, expr string) (any, error) {
	return c.evaluate(ctx, "Debugger.evaluateOnCallFrame", map[string]any{"callFrameId": frameID, "expression": expr, "returnByValue": true})
}

func (c *Conn) evaluate(ctx context.Context, method string, params map[string]any) (any, error) {
	raw, err := c.Call(ctx, method, params)
	if err != nil {
		return nil, err
	}
	var r evaluation
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decoding the result of %s %s: %w", method, raw, err)
	}
	if e := r.ExceptionDetails; e != nil {
		return nil, fmt.Errorf("%s of %q threw: %s %s", method, params["expression"], e.Text, e.Exception.Description)
	}
	return r.Result.Value, nil
}

// SetBreakpoint sets a breakpoint on the 0-based line of the scripts whose
// URL is url, with Debugger.setBreakpointByUrl, and returns its id. The
// debugger must be enabled (Debugger.enable).
func (c *Conn) SetBreakpoint(ctx context.Context, url string, line int) (string, error) {
	raw, err := c.Call(ctx, "Debugger.setBreakpointByUrl", map[string]any{"url": url, "lineNumber": line})
	if err != nil {
		return "", err
	}
	var bp struct {
		BreakpointID string `json:"breakpointId"`
	}
	if err := json.Unmarshal(raw, &bp); err != nil {
		return "", fmt.Errorf("decoding the result of Debugger.setBreakpointByUrl %s: %w", raw, err)
	}
	if bp.BreakpointID == "" {
		return "", fmt.Errorf("Debugger.setBreakpointByUrl returned no breakpoint id: %s", raw)
	}
	return bp.BreakpointID, nil
}

// WaitPause waits for a Debugger.paused event, as WaitEvent does, and
// decodes it. A pause without call frames is an error.
func (c *Conn) WaitPause(ctx context.Context) (*Pause, error) {
	raw, err := c.WaitEvent(ctx, "Debugger.paused")
	if err != nil {
		return nil, err
	}
	var p Pause
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("decoding Debugger.paused %s: %w", raw, err)
	}
	if len(p.CallFrames) == 0 {
		return nil, errors.New("Debugger.paused without call frames: " + string(raw))
	}
	return &p, nil
}

// Resume lets the paused program go on with Debugger.resume and waits for
// the Debugger.resumed event.
func (c *Conn) Resume(ctx context.Context) error {
	if _, err := c.Call(ctx, "Debugger.resume", nil); err != nil {
		return err
	}
	_, err := c.WaitEvent(ctx, "Debugger.resumed")
	return err
}
