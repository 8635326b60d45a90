package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Tool names, as given to -tools and shown in the results.
const (
	// toolDevdUp is `devd up`: devd builds the images, starts the stack
	// with its supervisor in front of each service's command, and restarts
	// processes.
	toolDevdUp = "devd-up"
	// toolDevd is plain devd next to a stack that `docker compose up`
	// started: it restarts containers.
	toolDevd = "devd"
	// toolComposeWatch is `docker compose watch`.
	toolComposeWatch = "compose-watch"
	// toolNodemon is nodemon running inside the api container, watching
	// its bind mount, with no devd and no Compose watch running.
	toolNodemon = "nodemon"
)

// knownTools are the tools in the order they run by default.
var knownTools = []string{toolDevdUp, toolDevd, toolComposeWatch, toolNodemon}

// Limits on the tools' lifecycle.
const (
	stopGrace = 15 * time.Second // from SIGINT to SIGKILL
	tailLines = 40               // output lines kept for error messages
)

// setup is the way the stack is started for a tool.
type setup int

const (
	// setupCompose is `docker compose up` with the benchmark's override.
	setupCompose setup = iota
	// setupNodemon is setupCompose with api's command run under nodemon.
	setupNodemon
	// setupByTool leaves starting the stack to the tool.
	setupByTool
)

// tool is a program under test, which gets each save into the services.
// The tools that run on the host watch every service of the project,
// whichever services are edited, because the stack runs only the two that
// can be measured.
type tool struct {
	Name string
	// Args is the command line, run in the stack's folder.
	Args []string
	// Ready reports whether a line of the tool's output announces that it watches.
	Ready func(line string) bool
	// Setup is the way the stack must be started before the tool starts.
	Setup setup
	// Keep reports whether a line of the tool's output is kept for reading
	// after each save; nil keeps none. devd's tools keep the log entries
	// that time the steps of a save.
	Keep func(line string) bool
}

// serves reports whether the tool called name can be measured on svc:
// nodemon runs only in api, whose source is bind-mounted.
func serves(name, svc string) bool {
	return name != toolNodemon || svc == "api"
}

// devdLogFlags make devd write the JSON log entries that the benchmark
// reads: "watching" to know it is ready, and the debug-level "batch" entry
// with the time a batch waited, besides "synced" and "restarted".
var devdLogFlags = []string{"--log-json", "--log-level", "debug"}

// devdUpTool runs `devd up` from the devd binary at bin. It builds the
// images and starts the stack itself, then watches it.
func devdUpTool(bin string) tool {
	return tool{
		Name:  toolDevdUp,
		Args:  append(append([]string{bin}, devdLogFlags...), "up"),
		Ready: devdReady,
		Setup: setupByTool,
		Keep:  devdTimingLine,
	}
}

// withDevdArgs adds flags to a devd tool's command line, before the "up"
// subcommand, where devd's global flags go.
func withDevdArgs(t tool, extra []string) tool {
	if len(extra) == 0 {
		return t
	}
	args := slices.Clone(t.Args)
	at := len(args)
	if args[at-1] == "up" {
		at--
	}
	t.Args = slices.Concat(args[:at], extra, args[at:])
	return t
}

// devdTool runs the devd binary at bin on the whole project, next to a
// stack that Compose started.
func devdTool(bin string) tool {
	return tool{
		Name:  toolDevd,
		Args:  append([]string{bin}, devdLogFlags...),
		Ready: devdReady,
		Setup: setupCompose,
		Keep:  devdTimingLine,
	}
}

// devdReady accepts devd's JSON log line that announces that it watches.
func devdReady(line string) bool {
	var entry struct {
		Message string `json:"@message"`
	}
	if json.Unmarshal([]byte(line), &entry) != nil {
		return false
	}
	return entry.Message == "watching"
}

// composeWatchTool runs `docker compose watch` on the whole project. The
// stack is already up, so --no-up skips Compose's own build and start.
func composeWatchTool() tool {
	return tool{
		Name:  toolComposeWatch,
		Args:  []string{"docker", "compose", "watch", "--no-up"},
		Ready: composeWatchReady,
		Setup: setupCompose,
	}
}

// composeWatchReady accepts the line Compose prints once its watcher runs
// (Compose v2 and v5 both print "Watch enabled").
func composeWatchReady(line string) bool {
	return strings.Contains(line, "Watch enabled")
}

// nodemonTool measures nodemon, which runs in the api container as its
// command (see nodemonOverride). Nothing runs on the host but
// `docker compose logs`, which follows the container's output to tell
// when nodemon watches and to show it with -v. files are the Compose files
// the stack was started with.
func nodemonTool(files []string) tool {
	args := []string{"docker", "compose"}
	for _, f := range files {
		args = append(args, "-f", f)
	}
	return tool{
		Name:  toolNodemon,
		Args:  append(args, "logs", "--follow", "--no-color", "api"),
		Ready: nodemonReady,
		Setup: setupNodemon,
	}
}

// nodemonWatching is the line nodemon --verbose prints once its file
// watcher has read the folders, "[nodemon] watching 5 files".
var nodemonWatching = regexp.MustCompile(`\[nodemon\] watching \d+ files?\b`)

// nodemonReady accepts the line nodemon prints once it watches.
func nodemonReady(line string) bool {
	return nodemonWatching.MatchString(line)
}

// process is a running tool with its output followed.
//
// Its methods may be called from any goroutine. Stop must be called once.
type process struct {
	name   string
	cmd    *exec.Cmd
	ready  chan struct{} // closed at the first line that the tool's Ready accepts
	exited chan struct{} // closed once the process has exited and waitErr is set

	waitErr error // set before exited is closed

	mu   sync.Mutex
	tail []string // the last tailLines lines of output, guarded by mu
	kept []string // the lines the tool's Keep accepted, guarded by mu
}

// startTool starts t in the stack's folder. When echo is not nil, every
// line of the tool's output is copied there with the tool's name in front.
func startTool(t tool, s *stack, echo io.Writer) (*process, error) {
	cmd := s.Command(context.Background(), t.Args[0], t.Args[1:]...)
	// A process group of its own, so that a Ctrl-C in the terminal reaches
	// only the benchmark, which then stops the tool in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", t.Name, err)
	}
	cmd.Stdout = w
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("starting %s: %w", t.Name, err)
	}
	w.Close()

	p := &process{
		name:   t.Name,
		cmd:    cmd,
		ready:  make(chan struct{}),
		exited: make(chan struct{}),
	}
	go p.follow(r, t.Ready, t.Keep, echo)
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// follow reads the tool's output until it ends.
func (p *process) follow(r io.ReadCloser, ready, keep func(string) bool, echo io.Writer) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	isReady := false
	for sc.Scan() {
		line := sc.Text()
		if echo != nil {
			fmt.Fprintf(echo, "[%s] %s\n", p.name, line)
		}
		p.mu.Lock()
		p.tail = append(p.tail, line)
		if len(p.tail) > tailLines {
			p.tail = p.tail[len(p.tail)-tailLines:]
		}
		if keep != nil && keep(line) {
			p.kept = append(p.kept, line)
		}
		p.mu.Unlock()
		if !isReady && ready(line) {
			isReady = true
			close(p.ready)
		}
	}
}

// Tail returns the last lines of the tool's output.
func (p *process) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.tail, "\n")
}

// KeptCount returns the number of lines kept so far.
func (p *process) KeptCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.kept)
}

// Kept returns the lines kept after the first n, which KeptCount returned
// earlier.
func (p *process) Kept(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	n = min(max(n, 0), len(p.kept))
	return slices.Clone(p.kept[n:])
}

// Exited is closed once the process has exited.
func (p *process) Exited() <-chan struct{} { return p.exited }

// ExitError describes how the process ended. It blocks until Exited is closed.
func (p *process) ExitError() error {
	<-p.exited
	if p.waitErr == nil {
		return fmt.Errorf("%s exited with status 0\n%s", p.name, p.Tail())
	}
	return fmt.Errorf("%s exited: %w\n%s", p.name, p.waitErr, p.Tail())
}

// WaitReady waits until the tool announces that it watches.
func (p *process) WaitReady(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return fmt.Errorf("waiting for %s to watch: %w", p.name, p.ExitError())
	case <-timer.C:
		return fmt.Errorf("waiting for %s to watch: timed out after %s (raise -ready-timeout if it is slow)\n%s", p.name, timeout, p.Tail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop sends SIGINT, waits for the exit, and kills the tool's process
// group when it has not exited after stopGrace. It returns an error when
// the tool had to be killed.
func (p *process) Stop() error {
	select {
	case <-p.exited:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping %s: %w", p.name, err)
	}
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("stopping %s: still running %s after SIGINT, killed", p.name, stopGrace)
	}
}
