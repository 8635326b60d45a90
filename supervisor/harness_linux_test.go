//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testTimeout bounds every wait of a test on the supervisor subprocess.
const testTimeout = 30 * time.Second

// subprocess is a supervisor running in a copy of the test binary.
type subprocess struct {
	t      *testing.T
	cmd    *exec.Cmd
	out    *watchedBuffer
	client *Client
	socket string // the control socket's path
	// abstract is the unique abstract socket name of this supervisor.
	abstract string

	exited   chan struct{} // closed once cmd.Wait returned
	exitCode int           // valid after exited is closed
}

// startSupervisor runs a supervisor for tc in a subprocess and waits until
// its control socket responds. Control folder and abstract socket are unique
// to the test unless tc names them. The supervisor and its command are
// killed when the test ends.
func startSupervisor(t *testing.T, tc testConfig) *subprocess {
	t.Helper()
	s := newSubprocess(t, tc)
	s.waitFor("the control socket", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := s.client.Status(ctx)
		return err == nil
	})
	return s
}

// newSubprocess starts a supervisor for tc in a subprocess.
func newSubprocess(t *testing.T, tc testConfig) *subprocess {
	t.Helper()
	if tc.ControlDir == "" {
		tc.ControlDir = t.TempDir()
	}
	if tc.AbstractSocket == "" {
		tc.AbstractSocket = "@devd-supervisor-test-" + randomHex(6)
	}
	if tc.Grace == 0 {
		tc.Grace = 5 * time.Second
	}
	raw, err := json.Marshal(tc)
	if err != nil {
		t.Fatal(err)
	}

	s := &subprocess{
		t:        t,
		out:      newWatchedBuffer(),
		socket:   filepath.Join(tc.ControlDir, socketName(readContainerID(), hostname())),
		abstract: tc.AbstractSocket,
		exited:   make(chan struct{}),
	}
	s.client = NewSocketClient(s.socket)
	s.cmd = exec.Command(os.Args[0])
	s.cmd.Env = append(append(os.Environ(), tc.Env...), childConfigEnv+"="+string(raw))
	s.cmd.Stdout = s.out
	s.cmd.Stderr = s.out
	// A process that escaped the supervisor must not hold up Wait through
	// the output pipe.
	s.cmd.WaitDelay = time.Second
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting the supervisor: %v", err)
	}
	go func() {
		_ = s.cmd.Wait()
		s.exitCode = s.cmd.ProcessState.ExitCode()
		if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.exitCode = 128 + int(ws.Signal())
		}
		close(s.exited)
	}()
	t.Cleanup(s.kill)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("supervisor output:\n%s", s.out.String())
		}
	})

	return s
}

// kill ends the supervisor and what it runs, whatever their state.
func (s *subprocess) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	for _, p := range descendants(s.cmd.Process.Pid) {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// pid returns the supervisor's process id.
func (s *subprocess) pid() int { return s.cmd.Process.Pid }

// signal sends sig to the supervisor process only.
func (s *subprocess) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := syscall.Kill(s.pid(), sig); err != nil {
		s.t.Fatalf("signalling the supervisor: %v", err)
	}
}

// wait waits for the supervisor to exit and returns its exit code.
func (s *subprocess) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
		return s.exitCode
	case <-time.After(testTimeout):
		s.t.Fatalf("the supervisor did not exit within %s", testTimeout)
		return 0
	}
}

// waitOutput waits until the output holds substr at least n times.
func (s *subprocess) waitOutput(substr string, n int) {
	s.t.Helper()
	if !s.out.waitFor(func(b []byte) bool { return bytes.Count(b, []byte(substr)) >= n }, testTimeout) {
		s.t.Fatalf("output never held %q %d times", substr, n)
	}
}

// waitFor checks cond until it holds. It polls: what it waits for (a
// process table, a socket) sends no notification.
func (s *subprocess) waitFor(what string, cond func() bool) {
	s.t.Helper()
	ticker := time.NewTicker(10 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(testTimeout)
	for !cond() {
		select {
		case <-ticker.C:
		case <-deadline:
			s.t.Fatalf("waited %s for %s", testTimeout, what)
		case <-s.exited:
			if !cond() {
				s.t.Fatalf("the supervisor exited (code %d) while waiting for %s", s.exitCode, what)
			}
			return
		}
	}
}

// restart requests a restart and fails the test on error.
func (s *subprocess) restart() RestartResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	res, err := s.client.Restart(ctx)
	if err != nil {
		s.t.Fatalf("restart: %v", err)
	}
	return res
}

func (s *subprocess) status() StatusResult {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	st, err := s.client.Status(ctx)
	if err != nil {
		s.t.Fatalf("status: %v", err)
	}
	return st
}

// watchedBuffer is an output buffer that wakes waiters on each write. It
// is safe for concurrent use.
type watchedBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer  // guarded by mu
	written chan struct{} // guarded by mu; closed and replaced on each write
}

func newWatchedBuffer() *watchedBuffer {
	return &watchedBuffer{written: make(chan struct{})}
}

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	close(w.written)
	w.written = make(chan struct{})
	return w.buf.Write(p)
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until cond holds for the buffer's content.
func (w *watchedBuffer) waitFor(cond func([]byte) bool, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		ok := cond(w.buf.Bytes())
		written := w.written
		w.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-written:
		case <-deadline:
			return false
		}
	}
}

// proc is a line of the process table.
type proc struct {
	pid, ppid, pgid int
	state           string
	comm            string
}

// descendants returns the processes below pid, read from /proc.
func descendants(pid int) []proc {
	all := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, err := readProc(n); err == nil {
			all[n] = p
		}
	}
	var out []proc
	for _, p := range all {
		for q, ok := p, true; ok && q.ppid != 0; q, ok = all[q.ppid] {
			if q.ppid == pid {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

// children returns the processes whose parent is pid.
func children(pid int) []proc {
	var out []proc
	for _, p := range descendants(pid) {
		if p.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

func readProc(pid int) (proc, error) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return proc{}, err
	}
	return parseStat(string(raw))
}

// parseStat parses a /proc/PID/stat line.
func parseStat(s string) (proc, error) {
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return proc{}, errors.New("malformed stat")
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 3 {
		return proc{}, errors.New("malformed stat")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return proc{}, errors.New("malformed stat")
	}
	ppid, _ := strconv.Atoi(f[1])
	pgid, _ := strconv.Atoi(f[2])
	return proc{pid: pid, ppid: ppid, pgid: pgid, state: f[0], comm: s[open+1 : end]}, nil
}

func countComm(ps []proc, comm string) int {
	n := 0
	for _, p := range ps {
		if p.comm == comm {
			n++
		}
	}
	return n
}

// freePort returns a TCP port nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
