package delve

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/devdtool/devd/delve/delvetest"
	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

func TestSwapKeepsClientAndBreakpoint(t *testing.T) {
	dlv := needDelve(t)
	bin := buildApp(t, "v1")
	srv := startServer(t, dlv, bin, true)
	waitBody(t, srv.appURL, `"v1"`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	// An IDE's client sets a breakpoint the way IDEs do: Delve changes
	// breakpoints only while the program is stopped.
	first := dial(t, srv.addr)
	file, line, err := delvetest.BreakpointLine()
	if err != nil {
		t.Fatal(err)
	}
	var bp *api.Breakpoint
	err = first.Do(ctx, func(r *rpc2.RPCClient) error {
		if _, err := r.Halt(); err != nil {
			return err
		}
		bp, err = r.CreateBreakpoint(&api.Breakpoint{File: file, Line: line})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stops := resume(t, first)
	reply := getAsync(srv.appURL)
	if st := nextStop(t, stops); st.CurrentThread == nil || st.CurrentThread.Breakpoint == nil || st.CurrentThread.Line != line {
		t.Fatalf("program stopped at %+v, want the breakpoint at line %d", st.CurrentThread, line)
	}
	stops = resume(t, first)
	if body := <-reply; !strings.Contains(body, `"v1"`) {
		t.Fatalf("old program answered %q", body)
	}

	if err := delvetest.BuildApp(bin, "v2"); err != nil {
		t.Fatal(err)
	}
	res, err := SwapDetailed(ctx, srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swap took %s", res.Duration)
	if res.OtherClientRuns {
		t.Error("swap found the program resumed, but no client loops on continue here")
	}
	if len(res.Discarded) > 0 {
		t.Errorf("breakpoints discarded: %+v", res.Discarded)
	}
	// The first client's continue ends when the swap halts the program.
	nextStop(t, stops)

	// The first client's connection still works, and the kept breakpoint
	// stops the new program. Delve lists breakpoints only while the
	// program is stopped.
	waitListening(t, srv.appURL)
	reply = getAsync(srv.appURL)
	waitUntil(t, "the breakpoint to hit in the new program", func() bool {
		paused, err := first.Paused(ctx)
		return err == nil && paused
	})
	var st *api.DebuggerState
	var bps []*api.Breakpoint
	err = first.Do(ctx, func(r *rpc2.RPCClient) error {
		var e error
		if st, e = r.GetState(); e != nil {
			return e
		}
		bps, e = r.ListBreakpoints(false)
		return e
	})
	if err != nil {
		t.Fatalf("first client after the swap: %v", err)
	}
	if st.CurrentThread == nil || st.CurrentThread.Breakpoint == nil || st.CurrentThread.Line != line {
		t.Fatalf("new program stopped at %+v, want the breakpoint at line %d", st.CurrentThread, line)
	}
	if !hasBreakpoint(bps, bp.ID, line) {
		t.Fatalf("breakpoints after the swap: %+v, want id %d at line %d", bps, bp.ID, line)
	}
	resume(t, first)
	if body := <-reply; !strings.Contains(body, `"v2"`) {
		t.Fatalf("new program answered %q", body)
	}
}

func hasBreakpoint(bps []*api.Breakpoint, id, line int) bool {
	for _, b := range bps {
		if b.ID == id && b.Line == line {
			return true
		}
	}

	return false
}

func TestSwapReplacesProgramPausedAtBreakpoint(t *testing.T) {
	dlv := needDelve(t)
	bin := buildApp(t, "v1")
	srv := startServer(t, dlv, bin, true)
	waitBody(t, srv.appURL, `"v1"`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	// A debugger has the program paused at a breakpoint when the new binary
	// arrives.
	first := dial(t, srv.addr)
	file, line, err := delvetest.BreakpointLine()
	if err != nil {
		t.Fatal(err)
	}
	err = first.Do(ctx, func(r *rpc2.RPCClient) error {
		if _, err := r.Halt(); err != nil {
			return err
		}
		_, err := r.CreateBreakpoint(&api.Breakpoint{File: file, Line: line})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	stops := resume(t, first)
	pending := getAsync(srv.appURL)
	old := nextStop(t, stops)

	if err := delvetest.BuildApp(bin, "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := Swap(ctx, srv.addr); err != nil {
		t.Fatal(err)
	}
	if body := <-pending; strings.Contains(body, `"v1"`) {
		t.Fatalf("the old program finished the paused request: %q", body)
	}

	// The new program runs, and stops at the kept breakpoint.
	waitListening(t, srv.appURL)
	getAsync(srv.appURL)
	waitUntil(t, "the breakpoint to hit in the new program", func() bool {
		paused, err := first.Paused(ctx)
		return err == nil && paused
	})
	var st *api.DebuggerState
	err = first.Do(ctx, func(r *rpc2.RPCClient) error {
		var e error
		st, e = r.GetState()
		return e
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Pid == old.Pid {
		t.Fatalf("process %d still runs after the swap", st.Pid)
	}
	if st.CurrentThread == nil || st.CurrentThread.Line != line {
		t.Fatalf("new program stopped at %+v, want line %d", st.CurrentThread, line)
	}
}

func TestSwapRestartsAnExitedProgram(t *testing.T) {
	dlv := needDelve(t)
	bin := buildApp(t, "v1")
	srv := startServer(t, dlv, bin, true)
	waitBody(t, srv.appURL, `"v1"`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	<-getAsync(srv.appURL + "exit")
	c := dial(t, srv.addr)
	waitUntil(t, "delve to see the program exit", func() bool {
		_, exited, err := c.State(ctx)
		return err == nil && exited
	})

	if err := delvetest.BuildApp(bin, "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := Swap(ctx, srv.addr); err != nil {
		t.Fatal(err)
	}
	waitBody(t, srv.appURL, `"v2"`)
}

func TestSwapRefusesSingleClientServer(t *testing.T) {
	dlv := needDelve(t)
	srv := startServer(t, dlv, buildApp(t, "v1"), false)

	// devd decides from the command line alone and never connects.
	if CanSwap(srv.args) || MulticlientFromArgs(srv.args) {
		t.Fatalf("CanSwap(%q) is true for a single-client server", srv.args)
	}

	// The reason: any connection takes the only slot, and Delve exits
	// when that connection closes.
	_, err := Swap(context.Background(), srv.addr)
	if !errors.Is(err, ErrSingleClient) {
		t.Fatalf("Swap on a single-client server: %v, want ErrSingleClient", err)
	}
	waitUntil(t, "the single-client dlv to exit after one connection", srv.exited)
}

func TestAttachDetachLeavesProgramRunning(t *testing.T) {
	dlv := needDelve(t)
	srv := startServer(t, dlv, buildApp(t, "v1"), true)
	if !MulticlientFromArgs(srv.args) || !CanSwap(srv.args) {
		t.Fatalf("CanSwap(%q) is false", srv.args)
	}
	waitBody(t, srv.appURL, `"v1"`)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	for i := 0; i < 2; i++ {
		c, err := Dial(ctx, srv.addr, DialTimeout)
		if err != nil {
			t.Fatal(err)
		}
		multi, err := c.Multiclient()
		if err != nil || !multi {
			t.Fatalf("Multiclient = %v, %v; want true", multi, err)
		}
		running, _, err := c.State(ctx)
		if err != nil || !running {
			t.Fatalf("State: running %v, %v; want running", running, err)
		}
		c.Close()
		waitBody(t, srv.appURL, `"v1"`)
	}
	for i := 0; i < 2; i++ {
		attachDAP(t, srv.addr).detach(t)
		waitBody(t, srv.appURL, `"v1"`)
	}
}

func TestBlockingCallIsBoundedByContext(t *testing.T) {
	dlv := needDelve(t)
	srv := startServer(t, dlv, buildApp(t, "v1"), true)
	waitBody(t, srv.appURL, `"v1"`)
	c := dial(t, srv.addr)

	// A blocking state request waits for the program to stop, which a
	// serving program never does.
	ctx, cancel := context.WithTimeout(context.Background(), cutShortAfter)
	defer cancel()
	err := c.Do(ctx, func(r *rpc2.RPCClient) error { _, err := r.GetState(); return err })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("blocking call: %v, want a deadline error", err)
	}
	if _, err := c.Multiclient(); err == nil {
		t.Fatal("the client still answers after a call was cut short")
	}

	// The server and the program are unaffected.
	other := dial(t, srv.addr)
	if running, _, err := other.State(context.Background()); err != nil || !running {
		t.Fatalf("State after a cut call: running %v, %v", running, err)
	}
	waitBody(t, srv.appURL, `"v1"`)
}

func TestDialGivesUpOnSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		// Accept and never respond, like a server busy with another client.
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()

	_, err = Dial(context.Background(), ln.Addr().String(), 10*pollInterval)
	if err == nil {
		t.Fatal("Dial succeeded on a server that never responds")
	}
}
