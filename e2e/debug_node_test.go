package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// apiScriptURL is how the inspector names the api service's main script.
const apiScriptURL = "file://" + appDir + "/server.js"

// attachNames are host names a developer attaches by: an IP, localhost,
// and a name of their own (from /etc/hosts), which the inspector itself
// refuses.
var attachNames = []string{"127.0.0.1", "localhost", "devbox.test"}

// apiBreakLine returns the 0-based line of api/server.js that builds the
// response to GET /.
func apiBreakLine(t *testing.T, s *stack) int {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(s.dir, "api", "server.js"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "case '/':" && i+1 < len(lines) && strings.Contains(lines[i+1], "sendJSON(req, res, 200") {
			return i + 1
		}
	}
	t.Fatal("api/server.js has no line that answers GET /")
	return 0
}

// getLater GETs url in a goroutine, since the request waits while the
// program is paused, and delivers the body or the error.
func getLater(url string) <-chan string {
	out := make(chan string, 1)
	go func() {
		client := http.Client{Timeout: changeTimeout}
		resp, err := client.Get(url)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- string(body)
	}()
	return out
}

// breakOnGet sets the breakpoint on the line that builds the response to
// GET /, sends a GET, checks that the program pauses there with the
// message want in scope, resumes, and checks the response.
func breakOnGet(t *testing.T, s *stack, sess *inspectorSession, want string) {
	t.Helper()
	line := apiBreakLine(t, s)
	bp := sess.setBreakpoint(apiScriptURL, line)
	answer := getLater(s.apiURL())
	p := sess.waitBreakpoint(bp, line)
	if got := sess.evaluateOn(p.CallFrames[0].CallFrameID, "message"); got != want {
		t.Errorf("paused with message = %v in scope, want %q", got, want)
	}
	sess.resume()
	select {
	case body := <-answer:
		if got := message(body); got != want {
			t.Errorf("after resuming, GET / answered %q, want message %q", body, want)
		}
	case <-time.After(debugWait):
		t.Fatal("GET / did not complete after resuming")
	}
	sess.call("Debugger.removeBreakpoint", map[string]any{"breakpointId": bp})
}

func TestDebugNodeBreakpointAcrossRestart(t *testing.T) {
	s := startStack(t)
	d := startDevd(t, s)
	addr := d.proxyAddress("api")
	before := message(waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) != "" }))

	// An IDE attaches by whatever name the developer uses for the host.
	var last *inspectorSession
	for _, name := range attachNames {
		sess := attachByName(t, addr, name, "")
		breakOnGet(t, s, sess, before)
		if err := sess.conn.Close(); err != nil {
			t.Fatal(err)
		}
		last = sess
	}

	// A save restarts the process; the new one has a new target id.
	writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule("after the save"))
	waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == "after the save" })

	// A debugger that reconnects to the URL it had reaches the new
	// process on the same host port.
	old, err := openInspector(t, addr, last.url)
	if err != nil {
		t.Fatalf("reconnecting to %s after the restart: %v", last.url, err)
	}
	if got := old.evaluate("process.mainModule.require('./message')"); got != "after the save" {
		t.Errorf("through the old URL, message.js = %v, want %q", got, "after the save")
	}
	if err := old.conn.Close(); err != nil {
		t.Fatal(err)
	}

	// The same configuration finds the new target, as VS Code's restart
	// option does, and the breakpoint, set again, hits the new code.
	for _, name := range attachNames {
		sess := attachByName(t, addr, name, last.target)
		breakOnGet(t, s, sess, "after the save")
		if err := sess.conn.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// portProbe connects to devd's debug port again and again while a restart
// happens, and records what each attempt got.
type portProbe struct {
	addr string
	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	responded int      // guarded by mu: the inspector responded
	rejected  int      // guarded by mu: devd closed the connection quickly
	failures  []string // guarded by mu: the port was closed, or a connection hung
}

// Limits of the probe: a connection that devd turns away must be closed
// within probeQuick; one left open for probeHang counts as hanging.
const (
	probeInterval = 10 * time.Millisecond
	probeQuick    = 2 * time.Second
	probeHang     = 5 * time.Second
)

func startPortProbe(addr string) *portProbe {
	p := &portProbe{addr: addr, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(probeInterval)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.try()
			}
		}
	}()
	return p
}

func (p *portProbe) try() {
	c, err := net.DialTimeout("tcp", p.addr, probeQuick)
	if err != nil {
		p.fail(fmt.Sprintf("connecting at %s: %v", time.Now().Format("15:04:05.000"), err))
		return
	}
	defer c.Close()
	start := time.Now()
	if _, err := io.WriteString(c, "GET /json/list HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil {
		p.record(&p.rejected)
		return
	}
	_ = c.SetReadDeadline(start.Add(probeHang))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	var ne net.Error
	switch {
	case err == nil:
		resp.Body.Close()
		p.record(&p.responded)
	case errors.As(err, &ne) && ne.Timeout():
		p.fail(fmt.Sprintf("connection at %s left open for %s", start.Format("15:04:05.000"), probeHang))
	case time.Since(start) > probeQuick:
		p.fail(fmt.Sprintf("connection at %s closed after %s", start.Format("15:04:05.000"), time.Since(start)))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		p.record(&p.rejected)
	default:
		p.fail(fmt.Sprintf("connection at %s: %v", start.Format("15:04:05.000"), err))
	}
}

func (p *portProbe) record(n *int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*n++
}

func (p *portProbe) fail(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures = append(p.failures, msg)
}

// finish stops the probe and returns its counts.
func (p *portProbe) finish() (responded, rejected int, failures []string) {
	close(p.stop)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.responded, p.rejected, p.failures
}

func TestDebugPausedProcessIsReplacedOnSave(t *testing.T) {
	t.Run("container restart", func(t *testing.T) {
		s := startStack(t)
		checkPausedReplaced(t, s, startDevd(t, s), true)
	})
	t.Run("process restart under devd up", func(t *testing.T) {
		// The supervisor replaces the process in tens of milliseconds,
		// which the probe may not catch.
		s := prepareStack(t)
		checkPausedReplaced(t, s, startDevd(t, s, "up"), false)
	})
}

// checkPausedReplaced pauses the api service at a breakpoint, saves, and
// checks that the new process serves while devd's debug port stays open
// and turns debuggers away at once while the process is down. With
// seeDown, the restart lasts long enough that the probe must have seen
// debuggers turned away.
func checkPausedReplaced(t *testing.T, s *stack, d *devdProcess, seeDown bool) {
	t.Helper()
	addr := d.proxyAddress("api")
	before := message(waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) != "" }))

	// The program stops at a breakpoint with a request in flight.
	sess := attachByName(t, addr, "devbox.test", "")
	line := apiBreakLine(t, s)
	bp := sess.setBreakpoint(apiScriptURL, line)
	getLater(s.apiURL())
	p := sess.waitBreakpoint(bp, line)
	if got := sess.evaluateOn(p.CallFrames[0].CallFrameID, "message"); got != before {
		t.Errorf("paused with message = %v in scope, want %q", got, before)
	}

	// A save while it is paused still replaces the process, and devd's
	// port stays open, turning debuggers away at once while the process
	// is down.
	probe := startPortProbe(addr)
	writeFile(t, filepath.Join(s.dir, "api", "message.js"), messageModule("saved while paused"))
	waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == "saved while paused" })
	responded, rejected, failures := probe.finish()
	for _, f := range failures {
		t.Errorf("debug port during the restart: %s", f)
	}
	if seeDown && rejected == 0 {
		t.Errorf("no connection was turned away during the restart (%d got a response): devd let debuggers in while the service was down", responded)
	}
	t.Logf("during the restart: %d connections got a response, %d were turned away", responded, rejected)
	sess.waitEnded()

	// The debugger attaches again and the breakpoint hits the new code.
	again := attachByName(t, addr, "devbox.test", sess.target)
	breakOnGet(t, s, again, "saved while paused")
}

func TestDebugLoopbackInspectorWarns(t *testing.T) {
	s := startStackWith(t, "    command: node --inspect server.js\n")
	d := startDevd(t, s)

	l := d.waitLog("compose configuration warning", nil)
	detail := fmt.Sprint(l["detail"])
	for _, want := range []string{`"api"`, "--inspect", "127.0.0.1", "--inspect=0.0.0.0:9229"} {
		if !strings.Contains(detail, want) {
			t.Errorf("warning %q does not mention %s", detail, want)
		}
	}

	// A debugger that tries anyway is turned away at once.
	addr := d.proxyAddress("api")
	c, err := net.DialTimeout("tcp", addr, probeQuick)
	if err != nil {
		t.Fatalf("connecting to devd's debug port: %v", err)
	}
	defer c.Close()
	start := time.Now()
	_, _ = io.WriteString(c, "GET /json/list HTTP/1.1\r\nHost: localhost\r\n\r\n")
	_ = c.SetReadDeadline(start.Add(probeHang))
	if _, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
		t.Error("the inspector responded through devd although it listens on 127.0.0.1 in the container")
	} else if elapsed := time.Since(start); elapsed > probeQuick {
		t.Errorf("devd took %s to close the connection (%v)", elapsed, err)
	}

	// devd debug names the fix too.
	out, _, code := runDevdDebug(t, s, "api")
	if code != 0 || !strings.Contains(out, "--inspect=0.0.0.0:9229") {
		t.Errorf("devd debug api (exit %d) does not name the fix:\n%s", code, out)
	}
}
