package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devdtool/devd/delve"
	"github.com/devdtool/devd/delve/delvetest"
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
