package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/delve"
	"github.com/devdtool/devd/delve/delvetest"
	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// goSwapRounds is how many binaries the swap test installs one after the
// other; goRestartRounds how many container restarts it times for comparison.
const (
	goSwapRounds    = 10
	goRestartRounds = 5
)

// TestGoServiceSwapsUnderDelve runs a Go service under dlv in a container,
// keeps a debugger client connected with a breakpoint, and replaces the
// binary again and again: the client stays connected, the breakpoint stays
// set and stops the new program, the new code responds, and the container
// has no leftover or zombie process.
func TestGoServiceSwapsUnderDelve(t *testing.T) {
	s := newGoStack(t, "")
	if !delve.CanSwap(goCommand) {
		t.Fatalf("CanSwap(%q) is false", goCommand)
	}
	s.up()
	goWaitMessage(t, s.appURL(), "v1")
	s.checkProcesses("at start")
	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()

	// A debugger client sets a breakpoint through the published port.
	first, err := delve.Dial(ctx, s.dlvAddr(), delve.DialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	file, line, err := delvetest.BreakpointLine()
	if err != nil {
		t.Fatal(err)
	}
	var bp *api.Breakpoint
	err = first.Do(ctx, func(r *rpc2.RPCClient) error {
		if _, err := r.Halt(); err != nil {
			return err
		}
		var e error
		bp, e = r.CreateBreakpoint(&api.Breakpoint{File: file, Line: line})
		return e
	})
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, first)
	if body := goHitBreakpoint(t, first, s.appURL(), bp, false); message(body) != "v1" {
		t.Fatalf("old program answered %q", body)
	}

	// The new binary stops at the same breakpoint, seen by the same client.
	s.install("v2")
	if _, err := delve.Swap(ctx, s.dlvAddr()); err != nil {
		t.Fatal(err)
	}
	if body := goHitBreakpoint(t, first, s.appURL(), bp, true); message(body) != "v2" {
		t.Fatalf("new program answered %q", body)
	}
	s.checkProcesses("after the first swap")

	// Timed swaps, without the breakpoint in the way.
	var swaps, calls []time.Duration
	for i := range goSwapRounds {
		want := fmt.Sprintf("v%d", i+3)
		s.install(want)
		start := time.Now()
		took, err := delve.Swap(ctx, s.dlvAddr())
		if err != nil {
			t.Fatalf("swap %d: %v", i+1, err)
		}
		calls = append(calls, took)
		goWaitMessage(t, s.appURL(), want)
		swaps = append(swaps, time.Since(start))
		s.checkProcesses(fmt.Sprintf("after swap %d", i+2))
	}
	if running, _, err := first.State(ctx); err != nil || !running {
		t.Fatalf("first client after %d swaps: running %v, %v", goSwapRounds+1, running, err)
	}

	// The alternative: restart the container, and dlv with it.
	var restarts []time.Duration
	last := fmt.Sprintf("v%d", goSwapRounds+2)
	for range goRestartRounds {
		start := time.Now()
		s.docker("restart", s.container())
		goWaitMessage(t, s.appURL(), last)
		restarts = append(restarts, time.Since(start))
	}
	s.checkProcesses("after the restarts")

	t.Logf("swap under delve until new code answers: median %s over %d (%v)", goMedian(swaps), len(swaps), swaps)
	t.Logf("of which the Swap call: median %s (%v)", goMedian(calls), calls)
	t.Logf("container restart until code answers: median %s over %d (%v)", goMedian(restarts), len(restarts), restarts)
}

// goRun resumes the program on c without waiting for it to stop.
func goRun(t *testing.T, c *delve.Client) <-chan *api.DebuggerState {
	t.Helper()
	var ch <-chan *api.DebuggerState
	_ = c.Do(context.Background(), func(r *rpc2.RPCClient) error {
		ch = r.Continue()
		return nil
	})
	return ch
}

// goHitBreakpoint sends a request to the program until it stops at bp, as
// reported to c, then clears bp when clear is set, resumes, and returns the
// response. Requests sent while the new program does not listen yet fail
// and are sent again.
func goHitBreakpoint(t *testing.T, c *delve.Client, url string, bp *api.Breakpoint, clear bool) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	var reply <-chan string
	waitFor(t, changeTimeout, "the breakpoint to stop the program", func() bool {
		if reply == nil {
			reply = goRequestLater(url)
		}
		select {
		case body := <-reply:
			t.Logf("request answered before any stop: %q", body)
			reply = nil
			return false
		default:
		}
		// Right after a swap the program may still be halted: only a
		// stop at the breakpoint counts.
		var st *api.DebuggerState
		err := c.Do(ctx, func(r *rpc2.RPCClient) error {
			var e error
			st, e = r.GetStateNonBlocking()
			return e
		})
		return err == nil && !st.Running && st.CurrentThread != nil && st.CurrentThread.Breakpoint != nil
	})

	var st *api.DebuggerState
	var bps []*api.Breakpoint
	err := c.Do(ctx, func(r *rpc2.RPCClient) error {
		var e error
		if st, e = r.GetState(); e != nil {
			return e
		}
		if bps, e = r.ListBreakpoints(false); e != nil {
			return e
		}
		if clear {
			_, e = r.ClearBreakpoint(bp.ID)
		}
		return e
	})
	if err != nil {
		t.Fatal(err)
	}
	if th := st.CurrentThread; th == nil || th.Breakpoint == nil || th.Breakpoint.ID != bp.ID {
		t.Fatalf("program stopped at %+v, want breakpoint %d", st.CurrentThread, bp.ID)
	}
	if !slices.ContainsFunc(bps, func(b *api.Breakpoint) bool { return b.ID == bp.ID && b.Line == bp.Line }) {
		t.Fatalf("breakpoints %+v, want id %d at line %d", bps, bp.ID, bp.Line)
	}
	goRun(t, c)
	return <-reply
}

// goRequestLater sends a GET and delivers the body, or the error text, later.
func goRequestLater(url string) <-chan string {
	ch := make(chan string, 1)
	go func() {
		client := http.Client{Timeout: composeTimeout}
		resp, err := client.Get(url)
		if err != nil {
			ch <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- string(b)
	}()
	return ch
}

// TestGoServiceWithoutPtrace runs the same service in a container whose
// seccomp profile denies ptrace: dlv fails, and the advice names the
// Compose keys that fix it.
func TestGoServiceWithoutPtrace(t *testing.T) {
	s := newGoStack(t, fmt.Sprintf("    security_opt:\n      - \"seccomp=%s\"\n", delvetest.Testdata("seccomp-no-ptrace.json")))
	s.up()
	id := s.container()

	var status string
	waitFor(t, changeTimeout, "dlv to fail", func() bool {
		status = strings.TrimSpace(s.docker("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", id))
		return strings.HasPrefix(status, "exited ")
	})
	var code int
	if _, err := fmt.Sscanf(status, "exited %d", &code); err != nil {
		t.Fatal(err)
	}
	logs := s.docker("logs", id)
	advice := delve.Advice(logs, code)
	t.Logf("dlv exited with %d:\n%s\nadvice: %s", code, logs, advice)
	for _, want := range []string{"cap_add: [SYS_PTRACE]", "security_opt: [seccomp:unconfined]"} {
		if !strings.Contains(advice, want) {
			t.Errorf("advice %q does not name %q", advice, want)
		}
	}
}

func goMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
