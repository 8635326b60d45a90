package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/delve"
	"github.com/devdtool/devd/delve/delvetest"
	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// goBuildKeys is the x-devd section of the Go stack's service: a host
// build of the test program with its message read from message.txt, copied
// over the binary that dlv runs.
const goBuildKeys = `    x-devd:
      build:
        command: CGO_ENABLED=0 GOOS=linux GOWORK=off go build -gcflags='all=-N -l' -ldflags "-X main.message=$(cat message.txt)" -o bin/server .
        workdir: ./src
        output: ./src/bin/server
        target: /app/server
`

func TestGoServiceSwappedUnderDelveKeepsDebugger(t *testing.T) {
	gs := newGoStack(t, goBuildKeys)
	src := filepath.Join(gs.dir, "src")
	copyTree(t, delvetest.AppDir(), src)
	writeFile(t, filepath.Join(src, "message.txt"), "v1")
	gs.up()
	goWaitMessage(t, gs.appURL(), "v1")

	s := &stack{t: t, dir: gs.dir, project: gs.project, env: append(os.Environ(), "COMPOSE_PROJECT_NAME="+gs.project)}
	d := startDevd(t, s)
	addr := d.proxyAddress("app")

	// A debugger attaches through devd's port before the change.
	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	// Under load the first handshake can time out while dlv starts.
	var client *delve.Client
	var err error
	waitFor(t, changeTimeout, "a Delve client to attach through devd", func() bool {
		client, err = delve.Dial(ctx, addr, delve.DialTimeout)
		return err == nil
	})
	defer client.Close()
	dlvBefore := goPID(t, gs, "dlv")
	container := gs.container()

	writeFile(t, filepath.Join(src, "message.txt"), "v2")
	goWaitMessage(t, gs.appURL(), "v2")
	d.waitLog("swapped the program through Delve; debuggers stay attached", map[string]string{"service": "app"})

	// The same connection still works, and the Delve server and container
	// are the ones from before.
	if _, _, err := client.State(ctx); err != nil {
		t.Errorf("the debugger's connection broke with the swap: %v", err)
	}
	if got := gs.container(); got != container {
		t.Errorf("container changed from %s to %s", container, got)
	}
	if got := goPID(t, gs, "dlv"); got != dlvBefore {
		t.Errorf("the Delve server was restarted: pid %s, was %s", got, dlvBefore)
	}
	gs.checkProcesses("after the swap")
}

// goPID returns the pid of the one process of that name in the Go stack's
// container.
func goPID(t *testing.T, gs *goStack, name string) string {
	t.Helper()
	for _, p := range gs.processes() {
		if p.name == name && p.cmdline != "" && !strings.Contains(p.cmdline, "** telemetry **") {
			return p.pid
		}
	}
	t.Fatalf("no %s process in the container", name)
	return ""
}

func TestDelveWithoutPtraceReportedOnce(t *testing.T) {
	// A seccomp profile that denies ptrace makes dlv fail at start.
	gs := newGoStack(t, fmt.Sprintf("    security_opt:\n      - \"seccomp=%s\"\n", delvetest.Testdata("seccomp-no-ptrace.json")))
	s := &stack{t: t, dir: gs.dir, project: gs.project, env: append(os.Environ(), "COMPOSE_PROJECT_NAME="+gs.project)}
	d := startDevd(t, s)
	gs.up()

	msg := "the debugger cannot run the program: " + delve.Advice("could not launch process: fork/exec /app/server: operation not permitted", 1)
	entry := d.waitLog(msg, map[string]string{"service": "app"})
	if entry == nil {
		t.Fatal("no advice logged")
	}
	for _, want := range []string{"cap_add: [SYS_PTRACE]", "security_opt: [seccomp:unconfined]"} {
		if !strings.Contains(msg, want) {
			t.Errorf("advice %q does not name %s", msg, want)
		}
	}

	// Reported once, and not started again in a loop.
	settle(t, d, "app")
	if n := d.countLogs(msg, nil); n != 1 {
		t.Errorf("advice logged %d times, want once", n)
	}
	if n := d.countLogs("service exited on its own; starting it again after a delay, or at the next change", nil); n != 0 {
		t.Errorf("devd started the failing dlv again %d times", n)
	}
}

// Log lines of a save while a debugger holds the Go program at a
// breakpoint in Delve.
const (
	goPausedSwapLog = "swapping the program while a debugger holds it at a breakpoint in Delve; the debugger stays attached to the new one"
	goPausedWaitLog = "the program is paused at a breakpoint: waiting for the debugger to resume it before restarting (x-devd.debug_wait)"
	goSwappedLog    = "swapped the program through Delve; debuggers stay attached"
)

func TestGoServicePausedUnderDelveOnSave(t *testing.T) {
	t.Run("debug_wait waits for the debugger", func(t *testing.T) {
		gs, d, client, src, bp := goPausedAtBreakpoint(t, goBuildKeys+"      debug_wait: true\n")
		reply := goRequestLater(gs.appURL())
		goWaitBreakpoint(t, client)

		writeFile(t, filepath.Join(src, "message.txt"), "v2")
		d.waitLog(goPausedWaitLog, map[string]string{"service": "app"})
		// devd holds the swap while the program stays paused.
		time.Sleep(2 * time.Second)
		if n := d.countLogs(goSwappedLog, nil); n != 0 {
			t.Fatalf("devd swapped the program %d times while the debugger held it", n)
		}
		select {
		case body := <-reply:
			t.Fatalf("the paused request was answered during the wait: %q", body)
		default:
		}

		// The debugger clears the breakpoint, which the requests below
		// would hit again, and continues: the old program responds, then
		// devd swaps.
		ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
		defer cancel()
		if err := client.Do(ctx, func(r *rpc2.RPCClient) error {
			_, err := r.ClearBreakpoint(bp)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		goRun(t, client)
		if body := <-reply; message(body) != "v1" {
			t.Errorf("the paused request got %q, want v1", body)
		}
		goWaitMessage(t, gs.appURL(), "v2")
		d.waitLog(goSwappedLog, map[string]string{"service": "app"})
		if n := d.countLogs(goPausedSwapLog, nil); n != 0 {
			t.Errorf("devd logged %q with debug_wait", goPausedSwapLog)
		}
	})
	t.Run("default swaps at once", func(t *testing.T) {
		gs, d, client, src, _ := goPausedAtBreakpoint(t, goBuildKeys)
		goRequestLater(gs.appURL())
		goWaitBreakpoint(t, client)

		writeFile(t, filepath.Join(src, "message.txt"), "v2")
		d.waitLog(goPausedSwapLog, map[string]string{"service": "app"})
		goWaitMessage(t, gs.appURL(), "v2")
		d.waitLog(goSwappedLog, map[string]string{"service": "app"})
		if n := d.countLogs(goPausedWaitLog, nil); n != 0 {
			t.Errorf("devd waited for the debugger without debug_wait")
		}
		// The client is still attached to the same Delve server.
		ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
		defer cancel()
		if _, _, err := client.State(ctx); err != nil {
			t.Errorf("the debugger's connection broke with the swap: %v", err)
		}
	})
}

// goPausedAtBreakpoint starts the Go stack with the given x-devd keys and
// devd, and attaches a Delve client through devd's port with a breakpoint
// on the handler, the program running. It returns the client, the host
// folder of the program's source and the breakpoint's id.
func goPausedAtBreakpoint(t *testing.T, keys string) (*goStack, *devdProcess, *delve.Client, string, int) {
	t.Helper()
	gs := newGoStack(t, keys)
	src := filepath.Join(gs.dir, "src")
	copyTree(t, delvetest.AppDir(), src)
	writeFile(t, filepath.Join(src, "message.txt"), "v1")
	gs.up()
	goWaitMessage(t, gs.appURL(), "v1")
	s := &stack{t: t, dir: gs.dir, project: gs.project, env: append(os.Environ(), "COMPOSE_PROJECT_NAME="+gs.project)}
	d := startDevd(t, s)
	addr := d.proxyAddress("app")

	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	var client *delve.Client
	var err error
	waitFor(t, changeTimeout, "a Delve client to attach through devd", func() bool {
		client, err = delve.Dial(ctx, addr, delve.DialTimeout)
		return err == nil
	})
	t.Cleanup(func() { client.Close() })
	// The program in the image was built from the test program's own
	// folder, whose path its debug information holds.
	file, line, err := delvetest.BreakpointLine()
	if err != nil {
		t.Fatal(err)
	}
	var bp *api.Breakpoint
	err = client.Do(ctx, func(r *rpc2.RPCClient) error {
		if _, err := r.Halt(); err != nil {
			return err
		}
		var err error
		bp, err = r.CreateBreakpoint(&api.Breakpoint{File: file, Line: line})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	goRun(t, client)
	return gs, d, client, src, bp.ID
}

// goWaitBreakpoint waits until the program is stopped at a breakpoint.
func goWaitBreakpoint(t *testing.T, c *delve.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), changeTimeout)
	defer cancel()
	waitFor(t, changeTimeout, "the program to stop at the breakpoint", func() bool {
		var st *api.DebuggerState
		err := c.Do(ctx, func(r *rpc2.RPCClient) error {
			var e error
			st, e = r.GetStateNonBlocking()
			return e
		})
		return err == nil && !st.Running && st.CurrentThread != nil && st.CurrentThread.Breakpoint != nil
	})
}
