// Package e2e runs devd against a real Docker engine, real `docker compose`
// and real Node.js processes, on copies of the example stack.
//
// The tests skip when no engine answers, and fail instead when DEVD_E2E=1.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Timeouts of the end-to-end tests. They are upper bounds for waiting on a
// condition, not expectations of speed.
const (
	composeTimeout = 5 * time.Minute
	changeTimeout  = 30 * time.Second
	pollInterval   = 50 * time.Millisecond
)

var (
	devdBinary string // built once in TestMain
	repoRoot   string
	nodeImage  string
	setupError string // why the end-to-end tests cannot run, or ""
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	_, file, _, _ := runtime.Caller(0)
	repoRoot = filepath.Dir(filepath.Dir(file))

	tmp, err := os.MkdirTemp("", "devd-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	setupError = prepare(tmp)
	return m.Run()
}

// prepare builds devd and finds the Node.js image, or returns why the
// tests cannot run.
func prepare(tmp string) string {
	if testing.Short() {
		return "end-to-end tests do not run with -short"
	}
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		return fmt.Sprintf("no Docker engine answers (docker version: %v: %s); start one, for example with scripts/engine.sh start", err, strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("docker", "compose", "version").CombinedOutput(); err != nil {
		return fmt.Sprintf("the docker compose plugin is missing (%v: %s); install it with scripts/install-compose.sh", err, strings.TrimSpace(string(out)))
	}

	devdBinary = filepath.Join(tmp, "devd")
	build := exec.Command("go", "build", "-o", devdBinary, "./cmd/devd")
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Sprintf("building devd failed: %v\n%s", err, out)
	}

	nodeImage = os.Getenv("DEVD_NODE_IMAGE")
	if nodeImage == "" {
		cmd := exec.Command("bash", filepath.Join(repoRoot, "scripts", "node-image.sh"))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Sprintf("no Node.js image for the example stack: scripts/node-image.sh: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		nodeImage = strings.TrimSpace(lines[len(lines)-1])
	}
	return ""
}

// requireEngine skips or fails the test when the end-to-end setup failed.
func requireEngine(t *testing.T) {
	t.Helper()
	if setupError == "" {
		return
	}
	if os.Getenv("DEVD_E2E") == "1" {
		t.Fatalf("DEVD_E2E=1 but the end-to-end tests cannot run: %s", setupError)
	}
	t.Skipf("skipping end-to-end test: %s (set DEVD_E2E=1 to make this a failure)", setupError)
}

// stack is a copy of the example stack, brought up under a project name of
// its own with free host ports, so tests never touch other containers.
type stack struct {
	t       *testing.T
	dir     string // the copy of examples/microservices
	project string
	apiPort int
	notPort int
	env     []string
}

func (s *stack) apiURL() string          { return fmt.Sprintf("http://127.0.0.1:%d/", s.apiPort) }
func (s *stack) notificationURL() string { return fmt.Sprintf("http://127.0.0.1:%d/", s.notPort) }

// overrideTemplate renames the containers and moves the published ports so
// that a test stack can run next to the demo stack.
const overrideTemplate = `services:
  api:
    container_name: %[1]s-api
    ports: !override
      - "127.0.0.1:%[2]d:3000"
  notification:
    container_name: %[1]s-notification
    ports: !override
      - "127.0.0.1:%[3]d:4000"
`

// startStack copies the example stack into a temporary folder and brings
// it up with docker compose. The stack is removed when the test ends.
func startStack(t *testing.T) *stack {
	t.Helper()
	return startStackWith(t, "")
}

// startStackWith is startStack with extra keys for the api service in the
// override file, indented for its place under `api:`.
func startStackWith(t *testing.T, apiExtra string) *stack {
	t.Helper()
	requireEngine(t)

	s := &stack{t: t, dir: filepath.Join(t.TempDir(), "microservices")}
	s.project = fmt.Sprintf("devde2e%d", time.Now().UnixNano()%1_000_000_000)
	s.apiPort = freePort(t)
	s.notPort = freePort(t)
	copyTree(t, filepath.Join(repoRoot, "examples", "microservices"), s.dir)

	override := fmt.Sprintf(overrideTemplate, s.project, s.apiPort, s.notPort)
	override = strings.Replace(override, "  api:\n", "  api:\n"+apiExtra, 1)
	writeFile(t, filepath.Join(s.dir, "compose.override.yaml"), override)

	s.env = append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+s.project,
		"DEVD_NODE_IMAGE="+nodeImage,
	)

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
		defer cancel()
		out, err := s.composeCtx(ctx, "down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "2")
		if err != nil {
			t.Logf("docker compose down: %v\n%s", err, out)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()
	if out, err := s.composeCtx(ctx, "up", "--detach", "--build", "--wait"); err != nil {
		t.Fatalf("docker compose up: %v\n%s", err, out)
	}
	waitHTTP(t, s.apiURL(), func(string) bool { return true })
	waitHTTP(t, s.notificationURL(), func(string) bool { return true })
	return s
}

// prepareStack is startStack without bringing the stack up, for tests that
// let devd up do it.
func prepareStack(t *testing.T) *stack {
	t.Helper()
	requireEngine(t)

	s := &stack{t: t, dir: filepath.Join(t.TempDir(), "microservices")}
	s.project = fmt.Sprintf("devde2e%d", time.Now().UnixNano()%1_000_000_000)
	s.apiPort = freePort(t)
	s.notPort = freePort(t)
	copyTree(t, filepath.Join(repoRoot, "examples", "microservices"), s.dir)
	writeFile(t, filepath.Join(s.dir, "compose.override.yaml"), fmt.Sprintf(overrideTemplate, s.project, s.apiPort, s.notPort))
	s.env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+s.project, "DEVD_NODE_IMAGE="+nodeImage)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
		defer cancel()
		// The project name finds every container, whichever files made it.
		cmd := exec.CommandContext(ctx, "docker", "compose", "-p", s.project, "down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "2")
		cmd.Dir = s.dir
		cmd.Env = s.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("docker compose down: %v\n%s", err, out)
		}
	})
	return s
}

// compose runs docker compose on the stack and returns its output.
func (s *stack) compose(args ...string) string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()
	out, err := s.composeCtx(ctx, args...)
	if err != nil {
		s.t.Fatalf("docker compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func (s *stack) composeCtx(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"compose"}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// containerID returns the id of the service's first container.
func (s *stack) containerID(service string) string {
	s.t.Helper()
	out := strings.TrimSpace(s.compose("ps", "--all", "--quiet", service))
	if out == "" {
		s.t.Fatalf("service %s has no container", service)
	}
	return strings.Split(out, "\n")[0]
}

// exec runs a command in the service's container and returns its output.
func (s *stack) exec(service string, args ...string) (string, error) {
	cmd := exec.Command("docker", append([]string{"exec", s.containerID(service)}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// devdProcess is a running devd with its JSON log lines collected.
type devdProcess struct {
	t    *testing.T
	cmd  *exec.Cmd
	done chan struct{}

	mu    sync.Mutex
	lines []map[string]any // guarded by mu
	raw   bytes.Buffer     // guarded by mu
}

// startDevd runs devd in the stack's folder and waits until it watches.
func startDevd(t *testing.T, s *stack, args ...string) *devdProcess {
	t.Helper()
	full := append([]string{"--log-json", "--log-level", "debug"}, args...)
	cmd := exec.Command(devdBinary, full...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	cmd.Stdin = nil
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting devd: %v", err)
	}

	d := &devdProcess{t: t, cmd: cmd, done: make(chan struct{})}
	go d.read(stderr)
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			d.mu.Lock()
			t.Logf("devd output:\n%s", d.raw.String())
			d.mu.Unlock()
		}
	})

	d.waitLogWithin(composeTimeout, "devd started", nil)
	d.waitLogWithin(composeTimeout, "watching", nil)
	return d
}

func (d *devdProcess) read(r io.Reader) {
	defer close(d.done)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m map[string]any
		_ = json.Unmarshal(line, &m)
		d.mu.Lock()
		d.raw.Write(line)
		d.raw.WriteByte('\n')
		if m != nil {
			d.lines = append(d.lines, m)
		}
		d.mu.Unlock()
	}
}

// stop sends SIGINT and waits for devd to exit, returning its exit code.
func (d *devdProcess) stop() int {
	if d.cmd.ProcessState == nil {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
		_ = d.cmd.Wait()
	}
	return d.cmd.ProcessState.ExitCode()
}

// logs returns the log entries whose message is msg and that match every
// key and value in where.
func (d *devdProcess) logs(msg string, where map[string]string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, l := range d.lines {
		if l["@message"] != msg {
			continue
		}
		ok := true
		for k, v := range where {
			if fmt.Sprint(l[k]) != v {
				ok = false
			}
		}
		if ok {
			out = append(out, l)
		}
	}
	return out
}

// countLogs counts the log entries as logs finds them.
func (d *devdProcess) countLogs(msg string, where map[string]string) int {
	return len(d.logs(msg, where))
}

// waitLog waits for a log entry and returns it.
func (d *devdProcess) waitLog(msg string, where map[string]string) map[string]any {
	d.t.Helper()
	return d.waitLogWithin(changeTimeout, msg, where)
}

// waitLogWithin is waitLog with a timeout of the caller's choice.
func (d *devdProcess) waitLogWithin(timeout time.Duration, msg string, where map[string]string) map[string]any {
	d.t.Helper()
	var found map[string]any
	waitFor(d.t, timeout, fmt.Sprintf("devd logs %q %v", msg, where), func() bool {
		if l := d.logs(msg, where); len(l) > 0 {
			found = l[len(l)-1]
			return true
		}
		return false
	})
	return found
}

// proxyAddress returns the host address of the debug proxy for a service.
func (d *devdProcess) proxyAddress(service string) string {
	d.t.Helper()
	l := d.waitLog("debug proxy listening; attach your debugger here", map[string]string{"service": service})
	return fmt.Sprint(l["address"])
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pollInterval)
	}
}

// httpGet returns the body of a GET, or "" with the error.
func httpGet(url string) (string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// waitHTTP waits until a GET of url returns a body that ok accepts.
func waitHTTP(t *testing.T, url string, ok func(body string) bool) string {
	t.Helper()
	var last string
	var lastErr error
	deadline := time.Now().Add(changeTimeout)
	for time.Now().Before(deadline) {
		body, err := httpGet(url)
		last, lastErr = body, err
		if err == nil && ok(body) {
			return body
		}
		time.Sleep(pollInterval)
	}
	t.Fatalf("timed out waiting for %s: last body %q, last error %v", url, last, lastErr)
	return ""
}

// message decodes the `message` field of a service's JSON answer.
func message(body string) string {
	var v struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal([]byte(body), &v)
	return v.Message
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies a folder, skipping node_modules, as a user's checkout
// would look.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
}

// messageModule is the source of a service's message.js that answers msg.
func messageModule(msg string) string {
	return "module.exports = " + strconv.Quote(msg) + ";\n"
}
