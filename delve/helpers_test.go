package delve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/devdtool/devd/delve/delvetest"
	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// Timeouts of the tests: upper bounds on waiting for a condition.
const (
	testTimeout  = 60 * time.Second
	waitTimeout  = 20 * time.Second
	pollInterval = 20 * time.Millisecond
	stopGrace    = 10 * time.Second
	// cutShortAfter is the deadline of a call meant to run out.
	cutShortAfter = 500 * time.Millisecond
)

// server is a dlv exec run on the host with the test program.
type server struct {
	t      *testing.T
	args   []string
	cmd    *exec.Cmd
	addr   string // Delve's address
	appURL string
	done   chan struct{}

	mu  sync.Mutex
	out bytes.Buffer // dlv's and the program's output; guarded by mu
}

// needDelve skips the test where the host cannot run Delve.
func needDelve(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("Delve integration tests do not run with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("Delve integration tests run on Linux only")
	}
	dlv, err := delvetest.Dlv()
	if err != nil {
		t.Fatal(err)
	}

	return dlv
}

// buildApp builds the test program, responding with message, into a new
// folder.
func buildApp(t *testing.T, message string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "app")
	if err := delvetest.BuildApp(bin, message); err != nil {
		t.Fatal(err)
	}

	return bin
}

// startServer runs dlv exec on bin. With multiclient it uses the command
// line devd supports. Without, it uses Delve's minimal headless command,
// which serves one client and starts the program only on its request.
func startServer(t *testing.T, dlv, bin string, multiclient bool) *server {
	t.Helper()
	s := &server{
		t:      t,
		addr:   fmt.Sprintf("127.0.0.1:%d", freePort(t)),
		done:   make(chan struct{}),
		appURL: fmt.Sprintf("http://127.0.0.1:%d/", freePort(t)),
	}
	if multiclient {
		s.args = []string{dlv, "exec", bin, "--headless", "--listen=" + s.addr, "--api-version=2", "--accept-multiclient", "--continue"}
	} else {
		s.args = []string{dlv, "exec", "--headless", "--listen=" + s.addr, "--api-version=2", bin}
	}
	// DEVD_DLV_LOG=1 adds Delve's debug log to the output a failed test
	// prints.
	if os.Getenv("DEVD_DLV_LOG") == "1" {
		s.args = append(s.args, "--log", "--log-output=debugger,rpc,dap")
	}
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Env = []string{"ADDR=" + strings.TrimSuffix(strings.TrimPrefix(s.appURL, "http://"), "/")}
	s.cmd.Stdout = writerFunc(s.write)
	s.cmd.Stderr = writerFunc(s.write)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(s.stop)
	waitUntil(t, "dlv listens", func() bool { return strings.Contains(s.output(), "API server listening at") })

	return s
}

func (s *server) write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.out.Write(p)
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()

	return s.out.String()
}

// exited reports whether dlv has exited.
func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// stop ends dlv with SIGTERM, on which it kills the program it started.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopGrace):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	if s.t.Failed() {
		s.t.Logf("dlv output:\n%s", s.output())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// dial connects a client that the test closes at its end.
func dial(t *testing.T, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr, DialTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })

	return c
}

// resume starts a continue on c; the channel yields the state at the next
// stop.
func resume(t *testing.T, c *Client) <-chan *api.DebuggerState {
	t.Helper()
	var ch <-chan *api.DebuggerState
	_ = c.Do(context.Background(), func(r *rpc2.RPCClient) error {
		ch = r.Continue()
		return nil
	})

	return ch
}

// nextStop waits for the state a continue ends with.
func nextStop(t *testing.T, ch <-chan *api.DebuggerState) *api.DebuggerState {
	t.Helper()
	select {
	case st, ok := <-ch:
		if !ok {
			t.Fatal("continue ended without a state")
		}
		return st
	case <-time.After(waitTimeout):
		t.Fatal("timed out waiting for the program to stop")
		return nil
	}
}

// getAsync sends a GET and delivers the body, or the error text, later.
func getAsync(url string) <-chan string {
	ch := make(chan string, 1)
	go func() {
		client := http.Client{Timeout: testTimeout}
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

// waitBody waits until a GET of url returns a body containing want.
func waitBody(t *testing.T, url, want string) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%s to answer %q", url, want), func() bool {
		client := http.Client{Timeout: time.Second}
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), want)
	})
}

// waitListening waits until the program at url accepts connections, without
// sending it a request.
func waitListening(t *testing.T, url string) {
	t.Helper()
	waitUntil(t, url+" to accept connections", func() bool { return listening(url) })
}

// listening reports whether the program at url accepts connections.
func listening(url string) bool {
	addr := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/")
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()

	return true
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", waitTimeout, what)
		}
		time.Sleep(pollInterval)
	}
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
