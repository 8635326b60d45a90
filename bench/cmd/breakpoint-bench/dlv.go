package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/devdtool/devd/delve"
	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// dlvPoll is how often the Go client reads Delve's state while it waits
// for the breakpoint.
const dlvPoll = 5 * time.Millisecond

// dlvSession is a JSON-RPC client of a multi-client Delve server with one
// breakpoint set.
type dlvSession struct {
	c  *delve.Client
	bp int
}

// attachDelve connects to Delve at addr, halts the program, sets a
// breakpoint on file:line and lets the program run.
func attachDelve(ctx context.Context, addr, file string, line int) (*dlvSession, error) {
	c, err := delve.Dial(ctx, addr, time.Second)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cdpWait)
	defer cancel()
	s := &dlvSession{c: c}
	err = c.Do(ctx, func(r *rpc2.RPCClient) error {
		if _, err := r.Halt(); err != nil {
			return err
		}
		bps, err := r.ListBreakpoints(false)
		if err != nil {
			return err
		}
		for _, b := range bps {
			if b.File == file && b.Line == line {
				s.bp = b.ID
			}
		}
		if s.bp == 0 {
			bp, err := r.CreateBreakpoint(&api.Breakpoint{File: file, Line: line})
			if err != nil {
				return err
			}
			s.bp = bp.ID
		}
		r.Continue()
		return nil
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	return s, nil
}

func (s *dlvSession) close() {
	if s != nil {
		_ = s.c.Close()
	}
}

// errDropped means the connection to Delve ended.
var errDropped = errors.New("connection to delve ended")

// strayStop is how long the Go client leaves the program stopped other
// than at its breakpoint before it resumes it itself.
const strayStop = time.Second

// awaitBreakpoint reads Delve's state until the program stops at the
// breakpoint with expr equal to want there, and returns without resuming
// it. A stop at the breakpoint with another value (the old program) is
// left paused, as a person reading it would: a swap replaces the program
// all the same, and a restart of the container ends the connection. A stop
// elsewhere (devd's halt during a swap) is left to the client that asked
// for it, and resumed after strayStop; strays counts those resumes. poll is called before
// each look at the state: it sends the next request when the last one has
// been answered.
func (s *dlvSession) awaitBreakpoint(ctx context.Context, expr, want string, poll func()) (strays int, err error) {
	seenPID := -1 // the process whose stop showed another value
	var strayed time.Time
	for {
		poll()
		var st *api.DebuggerState
		err := s.c.Do(ctx, func(r *rpc2.RPCClient) error {
			var e error
			st, e = r.GetStateNonBlocking()
			return e
		})
		if err != nil {
			if ctx.Err() != nil {
				return strays, ctx.Err()
			}
			return strays, fmt.Errorf("%w: %v", errDropped, err)
		}
		stopped := !st.Running && !st.Exited
		th := st.CurrentThread
		atBreakpoint := stopped && th != nil && th.Breakpoint != nil && th.Breakpoint.ID == s.bp
		switch {
		case atBreakpoint && st.Pid != seenPID:
			got, err := s.eval(ctx, expr)
			if err != nil {
				return strays, err
			}
			if got == want {
				return strays, nil
			}
			seenPID = st.Pid
		case stopped && !atBreakpoint:
			if strayed.IsZero() {
				strayed = time.Now()
			} else if time.Since(strayed) > strayStop {
				strays++
				strayed = time.Time{}
				s.resume()
			}
		default:
			strayed = time.Time{}
		}
		select {
		case <-ctx.Done():
			return strays, ctx.Err()
		case <-time.After(dlvPoll):
		}
	}
}

// eval returns the value of expr in the current frame, unquoted.
func (s *dlvSession) eval(ctx context.Context, expr string) (string, error) {
	var v *api.Variable
	err := s.c.Do(ctx, func(r *rpc2.RPCClient) error {
		var e error
		v, e = r.EvalVariable(api.EvalScope{GoroutineID: -1}, expr, api.LoadConfig{MaxStringLen: 128})
		return e
	})
	if err != nil {
		return "", err
	}
	if u, err := strconv.Unquote(v.Value); err == nil {
		return u, nil
	}
	return v.Value, nil
}

// resume lets the program run without waiting for it to stop again.
func (s *dlvSession) resume() {
	_ = s.c.Do(context.Background(), func(r *rpc2.RPCClient) error {
		r.Continue()
		return nil
	})
}
