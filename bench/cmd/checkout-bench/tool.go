package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds of a tool's start and stop.
const (
	readyTimeout = 2 * time.Minute
	stopTimeout  = 15 * time.Second
	tailLines    = 40
)

// toolProcess is a running devd or docker compose watch, with its output
// read continuously. Its methods may be called from any goroutine.
type toolProcess struct {
	name  string
	cmd   *exec.Cmd
	ready chan struct{} // closed at the first line that announces watching
	done  chan struct{} // closed once the process exited and its output ended

	mu   sync.Mutex
	tail []string // guarded by mu; the last tailLines lines of output
	err  error    // guarded by mu; the exit error, once done
}

// startTool starts a tool in the stack's folder, watching only the
// notification service.
func startTool(s *stack, tool string, o options) (*toolProcess, error) {
	var args []string
	var ready func(string) bool
	switch tool {
	case toolDevd:
		// --no-output: the services' output is not what is measured.
		args = []string{o.devd, "--log-json", "--log-level", o.devdLevel, "--no-output", "notification"}
		ready = devdReady
	case toolDevdUp:
		// --no-build: the images were built when the stack came up.
		args = []string{o.devd, "up", "--no-build", "--log-json", "--log-level", o.devdLevel, "--no-output", "notification"}
		ready = devdReady
	case toolComposeWatch:
		args = []string{"docker", "compose", "watch", "--no-up", "notification"}
		ready = func(line string) bool { return strings.Contains(line, "Watch enabled") }
	}

	pr, pw := io.Pipe()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = pw, pw
	// A group of its own, so that a stop reaches the Compose plugin that
	// the docker CLI starts too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", tool, err)
	}

	p := &toolProcess{name: tool, cmd: cmd, ready: make(chan struct{}), done: make(chan struct{})}
	read := make(chan struct{})
	go func() {
		defer close(read)
		p.read(pr, ready, o.verbose)
	}()
	go func() {
		err := cmd.Wait()
		pw.Close()
		<-read
		p.mu.Lock()
		p.err = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// devdReady accepts devd's JSON log entry "watching".
func devdReady(line string) bool {
	var entry struct {
		Message string `json:"@message"`
	}
	return json.Unmarshal([]byte(line), &entry) == nil && entry.Message == "watching"
}

func (p *toolProcess) read(r io.Reader, ready func(string) bool, verbose bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	announced := false
	for sc.Scan() {
		line := sc.Text()
		if verbose {
			fmt.Fprintf(os.Stderr, "  %s | %s\n", p.name, line)
		}
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > tailLines {
			p.tail = p.tail[len(p.tail)-tailLines:]
		}
		p.mu.Unlock()
		if !announced && ready(line) {
			announced = true
			close(p.ready)
		}
	}
	// Drain the rest after a read error, so the process does not block on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// waitReady waits until the tool announces that it watches.
func (p *toolProcess) waitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		return fmt.Errorf("waiting for %s to watch: it exited (%v)\n%s", p.name, p.exitErr(), p.output())
	case <-time.After(readyTimeout):
		return fmt.Errorf("waiting for %s to watch: timed out after %s\n%s", p.name, readyTimeout, p.output())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop sends SIGINT to the tool's process group, kills the group if it is
// still there after stopTimeout, and waits for the exit.
func (p *toolProcess) stop() {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
}

func (p *toolProcess) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// output returns the last lines the tool wrote.
func (p *toolProcess) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}
