package delve

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/delve/delvetest"
)

const dapTimeout = 10 * time.Second

// dapSession is a DAP client attached to a running server, as VS Code's
// "attach" in "remote" mode does it.
type dapSession struct {
	*delvetest.DAP
}

// attachDAP attaches through DAP and lets the program run on.
func attachDAP(t *testing.T, addr string) dapSession {
	t.Helper()
	d, err := delvetest.DialDAP(addr, DialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	s := dapSession{d}

	init := s.request(t, "initialize", map[string]any{"adapterID": "go", "linesStartAt1": true, "columnsStartAt1": true, "pathFormat": "path"})
	var caps struct {
		SupportsConfigurationDoneRequest bool `json:"supportsConfigurationDoneRequest"`
	}
	if err := json.Unmarshal(init.Body, &caps); err != nil || !caps.SupportsConfigurationDoneRequest {
		t.Fatalf("initialize answered %s", init.Body)
	}
	s.request(t, "attach", map[string]any{"mode": "remote"})
	if _, err := s.WaitEvent("initialized", 0, dapTimeout); err != nil {
		t.Fatal(err)
	}
	// Attaching halted the program; configurationDone lets it run.
	s.request(t, "configurationDone", nil)

	return s
}

// request sends a request and fails the test unless it succeeds.
func (s dapSession) request(t *testing.T, command string, args any) delvetest.Message {
	t.Helper()
	m, err := s.Request(command, args, dapTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Success {
		t.Fatalf("DAP %s failed: %s %s", command, m.Message, m.Body)
	}

	return m
}

// threads returns how many threads the threads request lists.
func (s dapSession) threads(t *testing.T) int {
	t.Helper()
	var body struct {
		Threads []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"threads"`
	}
	if err := json.Unmarshal(s.request(t, "threads", nil).Body, &body); err != nil {
		t.Fatal(err)
	}

	return len(body.Threads)
}

// stoppedSince reports whether a stopped event arrived after Events[from].
func (s dapSession) stoppedSince(from int) bool {
	for _, e := range s.Events[from:] {
		if e.Event == "stopped" {
			return true
		}
	}

	return false
}

// detach disconnects without ending the program.
func (s dapSession) detach(t *testing.T) {
	t.Helper()
	s.request(t, "disconnect", map[string]any{"terminateDebuggee": false})
	s.Close()
}

// hitBreakpoint sends a request to the program, waits for the DAP client
// to report the breakpoint, continues, and returns the program's response.
func (s dapSession) hitBreakpoint(t *testing.T, url string) string {
	t.Helper()
	from := len(s.Events)
	reply := getAsync(url)
	stopped, err := s.WaitEvent("stopped", from, dapTimeout)
	if err != nil {
		for _, e := range s.Events[from:] {
			t.Logf("DAP event: %s %s", e.Event, e.Body)
		}
		t.Fatal(err)
	}
	var body struct {
		Reason   string `json:"reason"`
		ThreadID int    `json:"threadId"`
	}
	if err := json.Unmarshal(stopped.Body, &body); err != nil || body.Reason != "breakpoint" {
		t.Fatalf("DAP client saw a stop %s, want a breakpoint", stopped.Body)
	}
	s.request(t, "continue", map[string]any{"threadId": body.ThreadID})

	return <-reply
}

func TestDAPClientFollowsSwap(t *testing.T) {
	dlv := needDelve(t)
	bin := buildApp(t, "v1")
	srv := startServer(t, dlv, bin, true)
	waitBody(t, srv.appURL, `"v1"`)

	// An IDE attaches and sets a breakpoint while the program runs.
	s := attachDAP(t, srv.addr)
	file, line, err := delvetest.BreakpointLine()
	if err != nil {
		t.Fatal(err)
	}
	set := s.request(t, "setBreakpoints", map[string]any{
		"source":      map[string]any{"path": file},
		"breakpoints": []map[string]any{{"line": line}},
	})
	var bps struct {
		Breakpoints []struct {
			Verified bool `json:"verified"`
		} `json:"breakpoints"`
	}
	if err := json.Unmarshal(set.Body, &bps); err != nil || len(bps.Breakpoints) != 1 || !bps.Breakpoints[0].Verified {
		t.Fatalf("setBreakpoints answered %s", set.Body)
	}
	if n := s.threads(t); n == 0 {
		t.Fatal("threads lists nothing before the swap")
	}
	if body := s.hitBreakpoint(t, srv.appURL); !strings.Contains(body, `"v1"`) {
		t.Fatalf("old program answered %q", body)
	}

	if err := delvetest.BuildApp(bin, "v2"); err != nil {
		t.Fatal(err)
	}
	seen := len(s.Events)
	defer func() {
		for _, e := range s.Events[seen:] {
			t.Logf("DAP event after the swap: %s %s", e.Event, e.Body)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	res, err := SwapDetailed(ctx, srv.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swap took %s; DAP client keeps control: %v", res.Duration, res.OtherClientRuns)
	if !res.OtherClientRuns {
		t.Error("swap did not notice the DAP client running the program")
	}

	// The IDE's session follows the swap: threads works throughout. The
	// session either runs the new program or shows it stopped, and then
	// its user continues it.
	continued := false
	waitUntil(t, "the new program to run", func() bool {
		if n := s.threads(t); n == 0 {
			t.Fatal("threads lists nothing after the swap")
		}
		if !continued && s.stoppedSince(seen) {
			s.request(t, "continue", map[string]any{"threadId": 1})
			continued = true
		}
		return listening(srv.appURL)
	})
	t.Logf("DAP client showed the new program stopped: %v", continued)
	if body := s.hitBreakpoint(t, srv.appURL); !strings.Contains(body, `"v2"`) {
		t.Fatalf("new program answered %q", body)
	}

	// Breakpoints outlive a DAP session on a multiclient server. Clear
	// them, or the next request stops the program with no client attached.
	s.request(t, "setBreakpoints", map[string]any{"source": map[string]any{"path": file}, "breakpoints": []any{}})
	s.detach(t)
	waitBody(t, srv.appURL, `"v2"`)
}
