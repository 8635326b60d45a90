// Command breakpoint-bench measures the time from a save until a debugger
// stops at a breakpoint in the new code. It measures a Node.js service
// under the inspector and a Go service under Delve, with devd, and with
// Compose watch plus an IDE that attaches again on its own.
//
// For each save the benchmark writes a new token into the service's
// handler, then waits until an HTTP request stops the program at the
// breakpoint on the handler's line where the token is in scope, and the
// token read there is the new one. The debugger client behaves as VS Code
// with `"restart": true`: when its connection ends it waits for the retry
// interval (-retry, 1 s as VS Code's Node.js debugger documents), attaches
// again, sets the breakpoint again, and tries again after the same wait
// when an attempt fails.
//
//	go run ./bench/cmd/breakpoint-bench [-saves 10] [-tools devd-up,devd,compose-watch] [-services node,go]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/devdtool/devd/internal/cdp"
)

// Tool names, as given to -tools.
const (
	toolDevdUp       = "devd-up"
	toolDevd         = "devd"
	toolComposeWatch = "compose-watch"
)

// Limits of one save and of the tools' start.
const (
	saveTimeout  = 30 * time.Second
	readyTimeout = 5 * time.Minute
	pauseWait    = 3 * time.Second // for one request to stop the program
	stopGrace    = 15 * time.Second
)

type options struct {
	saves    int
	warmups  int
	retry    time.Duration
	settle   time.Duration
	tools    []string
	services []string
	devd     string
	keep     bool
	log      string
}

func main() {
	var o options
	var tools, services string
	flag.IntVar(&o.saves, "saves", 10, "measured saves per tool and service")
	flag.IntVar(&o.warmups, "warmups", 1, "saves before the measured ones")
	flag.DurationVar(&o.retry, "retry", time.Second, "the IDE's wait before each attempt to attach again (VS Code: 1s)")
	flag.DurationVar(&o.settle, "settle", 1500*time.Millisecond, "pause between a hit and the next save")
	flag.StringVar(&tools, "tools", "devd-up,devd,compose-watch", "tools to measure, in order")
	flag.StringVar(&services, "services", "node,go", "services to measure: node, go")
	flag.StringVar(&o.devd, "devd", "", "devd binary (default: build the working tree with CGO_ENABLED=0)")
	flag.BoolVar(&o.keep, "keep", false, "leave the stack's folder in place")
	flag.StringVar(&o.log, "log", "", "append the tools' output (devd's JSON log at debug level) to this file")
	flag.Parse()
	o.tools = strings.Split(tools, ",")
	o.services = strings.Split(services, ",")
	for _, t := range o.tools {
		if !slices.Contains([]string{toolDevdUp, toolDevd, toolComposeWatch}, t) {
			fmt.Fprintf(os.Stderr, "breakpoint-bench: unknown tool %q\n", t)
			os.Exit(2)
		}
	}
	for _, s := range o.services {
		if s != svcNode && s != svcGo {
			fmt.Fprintf(os.Stderr, "breakpoint-bench: unknown service %q\n", s)
			os.Exit(2)
		}
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "breakpoint-bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tmp, err := os.MkdirTemp("", "breakpoint-bench-")
	if err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(tmp)
	}
	image, err := nodeImage(ctx)
	if err != nil {
		return err
	}
	if o.devd == "" && (slices.Contains(o.tools, toolDevd) || slices.Contains(o.tools, toolDevdUp)) {
		o.devd = filepath.Join(tmp, "devd")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", o.devd, "./cmd/devd")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building devd: %w\n%s", err, out)
		}
	}
	s, err := newStack(tmp, image)
	if err != nil {
		return err
	}
	defer func() {
		if err := s.down(); err != nil {
			fmt.Fprintln(os.Stderr, "removing the stack:", err)
		}
	}()
	fmt.Printf("stack %s in %s, base image %s, %d saves (+%d warm-up), IDE retry %s\n",
		s.project, s.dir, image, o.saves, o.warmups, o.retry)

	res := map[string][]time.Duration{}
	for _, tool := range o.tools {
		if err := measureTool(ctx, s, tool, o, res); err != nil {
			return fmt.Errorf("%s: %w", tool, err)
		}
	}
	fmt.Printf("load average at the end %s\n", loadAverage())
	printResults(os.Stdout, o, res)
	return nil
}

// nodeImage returns the base image that scripts/node-image.sh picks.
func nodeImage(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "scripts/node-image.sh")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/node-image.sh (run from the repository root): %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// measureTool starts the stack and the tool, measures each service and
// stops both.
func measureTool(ctx context.Context, s *stack, tool string, o options, res map[string][]time.Duration) error {
	if err := s.down(); err != nil {
		return err
	}
	peer := tool == toolComposeWatch
	if tool != toolDevdUp {
		if err := s.compose(ctx, peer, "up", "--detach", "--build", "--wait"); err != nil {
			return err
		}
	}
	var args []string
	switch tool {
	case toolDevdUp:
		args = []string{o.devd, "--log-json", "--log-level", "debug", "--no-output", "up"}
	case toolDevd:
		args = []string{o.devd, "--log-json", "--log-level", "debug", "--no-output"}
	case toolComposeWatch:
		args = append(append([]string{"docker", "compose", "-p", s.project}, s.files(true)...), "watch", "--no-up")
	}
	p, err := startTool(ctx, s.dir, args, o.log)
	if err != nil {
		return err
	}
	defer p.stop()
	if err := p.waitReady(ctx); err != nil {
		return err
	}
	for _, svc := range o.services {
		addr := p.debugAddr(svc)
		if peer {
			addr = fmt.Sprintf("127.0.0.1:%d", s.nodeDbg)
			if svc == svcGo {
				addr = fmt.Sprintf("127.0.0.1:%d", s.goDbg)
			}
		}
		if addr == "" {
			return fmt.Errorf("no debug address for %s in the tool's log", svc)
		}
		fmt.Printf("%s %s: debugger attaches to %s, load average %s\n", tool, svc, addr, loadAverage())
		var times []time.Duration
		var err error
		if svc == svcNode {
			times, err = measureNode(ctx, s, addr, tool, o)
		} else {
			times, err = measureGo(ctx, s, addr, tool, o)
		}
		if err != nil {
			return fmt.Errorf("%s: %w\n%s", svc, err, p.tail())
		}
		res[tool+"/"+svc] = times
	}
	return nil
}

// measureNode measures saves of the Node.js handler with a CDP client.
func measureNode(ctx context.Context, s *stack, addr, tool string, o options) ([]time.Duration, error) {
	line, err := breakLine(nodeHandlerSource(""))
	if err != nil {
		return nil, err
	}
	const script = "file:///usr/src/app/handler.js"
	attach := func() (*cdp.Conn, error) { return attachNode(ctx, addr, script, line) }
	sess, err := retryAttach(ctx, 0, attach)
	if err != nil {
		return nil, err
	}
	defer func() {
		if sess != nil {
			sess.Close()
		}
	}()

	var times []time.Duration
	for i := range o.warmups + o.saves {
		token := fmt.Sprintf("%s-node-%d-%d", tool, i, time.Now().UnixNano()%1e6)
		start := time.Now()
		if err := atomicSave(filepath.Join(s.dir, nodeHandler), []byte(nodeHandlerSource(token))); err != nil {
			return nil, err
		}
		// The old process ends with the restart, and with it the session.
		select {
		case <-sess.Done():
		case <-time.After(saveTimeout):
			return nil, fmt.Errorf("save %d of %d: the debugger's connection did not end", i+1, o.warmups+o.saves)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		sess.Close()
		dropped := time.Since(start)
		attempts.Store(0)
		for {
			if sess, err = retryAttach(ctx, o.retry, attach); err != nil {
				return nil, err
			}
			got, err := hitNode(sess, s.url(svcNode))
			if err == nil && got == token {
				break
			}
			if err == nil {
				return nil, fmt.Errorf("save %d of %d: paused with token %q, want %q", i+1, o.warmups+o.saves, got, token)
			}
			// The process ended between attaching and the request.
			sess.Close()
			if time.Since(start) > saveTimeout {
				return nil, fmt.Errorf("save %d of %d: %w", i+1, o.warmups+o.saves, err)
			}
		}
		took := time.Since(start)
		report(tool, svcNode, i, o.warmups, took, fmt.Sprintf("connection ended after %.0f ms, %d attempts to attach", ms(dropped), attempts.Load()))
		if i >= o.warmups {
			times = append(times, took)
		}
		if err := sleep(ctx, o.settle); err != nil {
			return nil, err
		}
	}
	return times, nil
}

// hitNode sends a request, waits for the program to stop at the breakpoint
// and returns the token in scope there, then resumes it.
func hitNode(sess *cdp.Conn, url string) (string, error) {
	reply := getLater(url)
	got, err := awaitPause(sess, pauseWait, "token")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	if err := sess.Resume(ctx); err != nil {
		return "", err
	}
	<-reply
	return got, nil
}

// measureGo measures saves of the Go handler with a Delve JSON-RPC client.
// devd builds the program on the host and swaps it under the same Delve
// server, so the client stays connected. For Compose watch the benchmark
// builds it at once into the folder that the trigger syncs, the way a
// build-on-save task of an editor would, and Compose restarts the
// container, Delve included.
func measureGo(ctx context.Context, s *stack, addr, tool string, o options) ([]time.Duration, error) {
	line, err := breakLine(goHandlerSource(""))
	if err != nil {
		return nil, err
	}
	file := filepath.Join(s.dir, goHandler)
	attach := func() (*dlvSession, error) { return attachDelve(ctx, addr, file, line) }
	sess, err := retryAttach(ctx, 0, attach)
	if err != nil {
		return nil, err
	}
	defer func() { sess.close() }()

	var times []time.Duration
	for i := range o.warmups + o.saves {
		token := fmt.Sprintf("%s-go-%d-%d", tool, i, time.Now().UnixNano()%1e6)
		start := time.Now()
		if err := atomicSave(file, []byte(goHandlerSource(token))); err != nil {
			return nil, err
		}
		attempts.Store(0)
		var built time.Duration
		if tool == toolComposeWatch {
			if built, err = s.buildGo(ctx, filepath.Join(s.dir, "go", "out", "server")); err != nil {
				return nil, err
			}
		}
		hctx, cancel := context.WithTimeout(ctx, saveTimeout)
		var strays int
		err := func() error {
			reply := getLater(s.url(svcGo))
			trigger := func() {
				select {
				case <-reply:
					// The request ended without a stop here: the
					// program was down, or it stopped and went on.
					reply = getLater(s.url(svcGo))
				default:
				}
			}
			for {
				n, err := sess.awaitBreakpoint(hctx, "main.token", token, trigger)
				strays += n
				if errors.Is(err, errDropped) {
					sess.close()
					if sess, err = retryAttach(hctx, o.retry, attach); err != nil {
						return err
					}
					continue
				}
				if err != nil {
					return err
				}
				sess.resume()
				<-reply
				return nil
			}
		}()
		cancel()
		if err != nil {
			return nil, fmt.Errorf("save %d of %d: %w", i+1, o.warmups+o.saves, err)
		}
		took := time.Since(start)
		detail := fmt.Sprintf("%d attempts to attach, %d stray stops resumed", attempts.Load(), strays)
		if built > 0 {
			detail = fmt.Sprintf("host build %.0f ms, %s", ms(built), detail)
		}
		report(tool, svcGo, i, o.warmups, took, detail)
		if i >= o.warmups {
			times = append(times, took)
		}
		if err := sleep(ctx, o.settle); err != nil {
			return nil, err
		}
	}
	return times, nil
}

// retryAttach attaches as an IDE with automatic reattach does: it waits
// for the interval before each attempt, until one succeeds.
func retryAttach[T any](ctx context.Context, interval time.Duration, attach func() (T, error)) (T, error) {
	deadline := time.Now().Add(saveTimeout)
	for {
		if err := sleep(ctx, interval); err != nil {
			var zero T
			return zero, err
		}
		attempts.Add(1)
		s, err := attach()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			return s, fmt.Errorf("attaching the debugger: %w", err)
		}
		if interval == 0 {
			if err := sleep(ctx, 100*time.Millisecond); err != nil {
				return s, err
			}
		}
	}
}

// attempts counts the attempts to attach, for the per-save report.
var attempts atomic.Int64

// getLater sends a GET and closes the returned channel when it is done.
func getLater(url string) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := http.Client{Timeout: saveTimeout}
		resp, err := c.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	return done
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func report(tool, svc string, i, warmups int, d time.Duration, detail string) {
	kind := "save"
	n := i - warmups + 1
	if i < warmups {
		kind, n = "warm-up", i+1
	}
	fmt.Printf("  %s %s %s %d: %.1f ms (%s)\n", tool, svc, kind, n, ms(d), detail)
}

// loadAverage returns the 1-minute load average, or "?" where /proc has
// none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// toolProcess is a running tool with its output kept.
type toolProcess struct {
	cmd   *exec.Cmd
	ready chan struct{}
	done  chan struct{}

	mu    sync.Mutex
	lines []string
	debug map[string]string // service -> devd's debug address
}

func startTool(ctx context.Context, dir string, args []string, logFile string) (*toolProcess, error) {
	var logw io.Writer = io.Discard
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		logw = f
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &toolProcess{cmd: cmd, ready: make(chan struct{}), done: make(chan struct{}), debug: map[string]string{}}
	go func() {
		_ = cmd.Wait()
		w.Close()
		close(p.done)
	}()
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var once sync.Once
		if c, ok := logw.(io.Closer); ok {
			defer c.Close()
		}
		for sc.Scan() {
			line := sc.Text()
			_, _ = fmt.Fprintln(logw, line)
			p.note(line)
			if isReady(line) {
				once.Do(func() { close(p.ready) })
			}
		}
	}()
	return p, nil
}

// isReady accepts devd's "watching" log entry and Compose's announcement.
func isReady(line string) bool {
	if strings.Contains(line, "Watch enabled") {
		return true
	}
	var e struct {
		Message string `json:"@message"`
	}
	return json.Unmarshal([]byte(line), &e) == nil && e.Message == "watching"
}

func (p *toolProcess) note(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = append(p.lines, line)
	if len(p.lines) > 60 {
		p.lines = p.lines[1:]
	}
	var e struct {
		Message string `json:"@message"`
		Service string `json:"service"`
		Address string `json:"address"`
	}
	if json.Unmarshal([]byte(line), &e) == nil && strings.HasPrefix(e.Message, "debug proxy listening") {
		p.debug[e.Service] = e.Address
	}
}

func (p *toolProcess) debugAddr(svc string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.debug[svc]
}

func (p *toolProcess) tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func (p *toolProcess) waitReady(ctx context.Context) error {
	select {
	case <-p.ready:
		return nil
	case <-p.done:
		return fmt.Errorf("%s ended before it watched:\n%s", p.cmd.Args[0], p.tail())
	case <-time.After(readyTimeout):
		return fmt.Errorf("%s did not announce that it watches:\n%s", p.cmd.Args[0], p.tail())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop sends SIGINT to the tool's process group and kills it after
// stopGrace.
func (p *toolProcess) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// percentile returns the p-th percentile of xs (nearest rank).
func percentile(xs []time.Duration, p float64) time.Duration {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if p == 50 && len(s)%2 == 0 {
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	i := int(p/100*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

func printResults(w io.Writer, o options, res map[string][]time.Duration) {
	fmt.Fprintf(w, "\nsave to breakpoint hit in the new code, ms (IDE retry %s)\n", o.retry)
	fmt.Fprintf(w, "%-14s %-5s %3s %9s %9s %9s %9s\n", "tool", "svc", "n", "median", "p90", "min", "max")
	for _, svc := range o.services {
		for _, tool := range o.tools {
			xs := res[tool+"/"+svc]
			if len(xs) == 0 {
				continue
			}
			fmt.Fprintf(w, "%-14s %-5s %3d %9.1f %9.1f %9.1f %9.1f\n", tool, svc, len(xs),
				ms(percentile(xs, 50)), ms(percentile(xs, 90)), ms(slices.Min(xs)), ms(slices.Max(xs)))
		}
	}
	if !slices.Contains(o.tools, toolComposeWatch) {
		return
	}
	fmt.Fprintln(w, "\nratio of the medians, devd / Compose watch")
	for _, svc := range o.services {
		peer := res[toolComposeWatch+"/"+svc]
		for _, tool := range []string{toolDevdUp, toolDevd} {
			xs := res[tool+"/"+svc]
			if len(xs) == 0 || len(peer) == 0 {
				continue
			}
			fmt.Fprintf(w, "%-14s %-5s %.2fx\n", tool, svc, float64(percentile(xs, 50))/float64(percentile(peer, 50)))
		}
	}
}
