//go:build linux

package supervisor

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// serverScript is the absolute path of testdata/server.js.
func serverScript(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("testdata", "server.js"))
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// nodeServer configures a supervisor for testdata/server.js on port, started
// through sh, which does not pass signals on: only the group signal reaches
// node.
func nodeServer(t *testing.T, port int, env ...string) testConfig {
	t.Helper()
	needNode(t)
	return testConfig{
		Argv:  []string{"sh", "-c", "node " + serverScript(t) + "; true"},
		Ports: []int{port},
		Env:   append([]string{"PORT=" + strconv.Itoa(port)}, env...),
	}
}

// servingPID returns the pid of the server that responds on port, or 0.
func servingPID(port int) int {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	pid, _ := strconv.Atoi(string(body))
	return pid
}

func TestRestartWaitsForSlowStopAndFreePort(t *testing.T) {
	port := freePort(t)
	tc := nodeServer(t, port, "STOP_DELAY_MS=2000")
	tc.Ready = "tcp:" + strconv.Itoa(port)
	s := startSupervisor(t, tc)
	s.waitOutput("serving", 1)
	before := servingPID(port)

	res := s.restart()

	if res.StopMS < 2000 {
		t.Errorf("stop took %d ms; the command takes 2000 ms to stop", res.StopMS)
	}
	if !res.Ready {
		t.Errorf("not ready after the restart: %+v", res)
	}
	after := servingPID(port)
	if after == 0 || after == before {
		t.Fatalf("port %d is served by pid %d, before the restart by %d: want a new process", port, after, before)
	}
	if out := s.out.String(); strings.Contains(out, "EADDRINUSE") {
		t.Fatalf("the new process found the port in use:\n%s", out)
	}
	if n := countComm(descendants(s.pid()), "node"); n != 1 {
		t.Fatalf("%d node processes after the restart, want 1", n)
	}
	if st := s.status(); st.Restarts != 1 || !st.Running || st.PID != res.PID {
		t.Fatalf("status %+v after restart %+v", st, res)
	}
}

func TestRestartWaitsForPortHeldOutsideTheGroup(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	port := held.Addr().(*net.TCPAddr).Port
	s := startSupervisor(t, testConfig{Argv: []string{"sleep", "60"}, Ports: []int{port}})

	results := make(chan RestartResult, 1)
	go func() {
		res, err := s.client.Restart(context.Background())
		if err != nil {
			t.Errorf("restart: %v", err)
		}
		results <- res
	}()

	// The log names the process that holds the port: this test's.
	s.waitOutput(fmt.Sprintf("%d (pid %d ", port, os.Getpid()), 1)
	select {
	case res := <-results:
		t.Fatalf("restart finished while the port was held: %+v", res)
	default:
	}
	_ = held.Close()

	select {
	case res := <-results:
		if len(res.Warnings) != 0 || res.PID == 0 {
			t.Fatalf("restart result %+v", res)
		}
	case <-time.After(testTimeout):
		t.Fatal("restart did not finish after the port was freed")
	}
}

func TestQueuedRestartsGiveOneMoreStart(t *testing.T) {
	port := freePort(t)
	tc := nodeServer(t, port, "STOP_DELAY_MS=2000")
	tc.Ready = "tcp:" + strconv.Itoa(port)
	s := startSupervisor(t, tc)
	s.waitOutput("serving", 1)

	first := make(chan RestartResult, 1)
	go func() { first <- s.restart() }()
	s.waitOutput("got SIGTERM", 1)

	// Two more requests while the first restart waits for the old process.
	var wg sync.WaitGroup
	queued := make([]RestartResult, 2)
	for i := range queued {
		wg.Add(1)
		go func() {
			defer wg.Done()
			queued[i] = s.restart()
		}()
	}
	wg.Wait()
	res1 := <-first

	if queued[0].PID != queued[1].PID || queued[0].PID == res1.PID {
		t.Fatalf("queued restarts got pids %d and %d, the first %d: want one shared new start", queued[0].PID, queued[1].PID, res1.PID)
	}
	// The ready check can see the port open before node's "serving" line
	// has come through the pipe, so wait for the line before counting.
	s.waitOutput("serving", 3)
	if n := strings.Count(s.out.String(), "serving"); n != 3 {
		t.Fatalf("%d starts, want 3 (the first, one per restart round)", n)
	}
	if st := s.status(); st.Restarts != 2 {
		t.Fatalf("status counts %d restarts, want 2", st.Restarts)
	}
	if n := countComm(descendants(s.pid()), "node"); n != 1 {
		t.Fatalf("%d node processes, want 1", n)
	}
	if pid := servingPID(port); pid == 0 {
		t.Fatal("nothing serves after the restarts")
	}
}

func TestRestartKillsCommandIgnoringStopSignal(t *testing.T) {
	s := startSupervisor(t, testConfig{
		Argv:  []string{"sh", "-c", `trap "" TERM; echo armed; while :; do sleep 0.05; done`},
		Grace: 500 * time.Millisecond,
	})
	s.waitOutput("armed", 1)

	res := s.restart()

	if res.StopMS < 500 {
		t.Errorf("stop took %d ms, less than the grace period", res.StopMS)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "was killed") {
		t.Errorf("warnings %q, want one about the kill", res.Warnings)
	}
	if st := s.status(); st.LastExit == nil || st.LastExit.Signal != "SIGKILL" {
		t.Errorf("last exit %+v, want SIGKILL", st.LastExit)
	}
	s.waitOutput("armed", 2)
}

func TestRestartWaitsForReadiness(t *testing.T) {
	port := freePort(t)
	cases := []struct {
		name  string
		ready string
		env   []string
	}{
		{name: "tcp", ready: "tcp:" + strconv.Itoa(port), env: []string{"START_DELAY_MS=300"}},
		{name: "http", ready: "http://127.0.0.1:" + strconv.Itoa(port) + "/health", env: []string{"START_DELAY_MS=300"}},
		{name: "log", ready: "log:^serving [0-9]+$", env: []string{"START_DELAY_MS=300"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := nodeServer(t, port, tc.env...)
			cfg.Ready = tc.ready
			s := startSupervisor(t, cfg)
			s.waitOutput("serving", 1)

			res := s.restart()

			if !res.Ready || res.ReadyMS < 300 {
				t.Fatalf("restart %+v: want ready after the 300 ms start delay", res)
			}
			// node is the child of the started sh.
			pid := servingPID(port)
			if p, err := readProc(pid); err != nil || p.ppid != res.PID {
				t.Fatalf("port served by pid %d right after the restart, want a child of %d", pid, res.PID)
			}
			// The log check reads the output through pipes: it must still
			// reach the supervisor's own output.
			s.waitOutput(fmt.Sprintf("serving %d", pid), 1)
		})
	}
}

func TestRestartReportsNotReadyAfterTimeout(t *testing.T) {
	s := startSupervisor(t, testConfig{
		Argv:  []string{"sh", "-c", "echo starting; exec sleep 60"},
		Ready: "log:never printed",
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	begin := time.Now()
	res, err := s.client.Restart(ctx)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	if res.Ready {
		t.Fatalf("restart %+v reports ready", res)
	}
	if took := time.Since(begin); took > 900*time.Millisecond {
		t.Fatalf("the response took %s, but the request's deadline was 1s", took)
	}
}

func TestCommandCrashingBeforeReadyEndsTheSupervisor(t *testing.T) {
	dir := t.TempDir()
	// The first start waits; every later one fails at once.
	marker := filepath.Join(dir, "started")
	script := `if [ -e ` + marker + ` ]; then echo broken; exit 4; fi; touch ` + marker + `; echo first start; exec sleep 60`
	s := startSupervisor(t, testConfig{Argv: []string{"sh", "-c", script}, Ready: "log:ready"})
	s.waitOutput("first start", 1)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := s.client.Restart(ctx)
	if err == nil || !strings.Contains(err.Error(), "exited with code 4") {
		t.Fatalf("restart error %v, want one naming exit code 4", err)
	}
	if got := s.wait(); got != 4 {
		t.Fatalf("the supervisor exited with %d, want the command's 4", got)
	}
}

func TestFailedStartKeepsSupervisorForNextRestart(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "app.sh")
	body := []byte("#!/bin/sh\necho app started\nexec sleep 60\n")
	if err := os.WriteFile(script, body, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startSupervisor(t, testConfig{Argv: []string{script}})
	s.waitOutput("app started", 1)

	// A build that replaces the program may leave it missing for a moment.
	if err := os.Remove(script); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := s.client.Restart(ctx); err == nil || !strings.Contains(err.Error(), "app.sh") {
		t.Fatalf("restart error %v, want one naming the missing program", err)
	}
	if st := s.status(); st.Running || st.PID != 0 {
		t.Fatalf("status %+v after a failed start, want nothing running", st)
	}

	if err := os.WriteFile(script, body, 0o755); err != nil {
		t.Fatal(err)
	}
	res := s.restart()
	if st := s.status(); !st.Running || st.PID != res.PID {
		t.Fatalf("status %+v after restart %+v", st, res)
	}
	s.waitOutput("app started", 2)
}
