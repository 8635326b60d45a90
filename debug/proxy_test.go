package debug

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// closeWait is how long a test lets a connection take to be closed.
const closeWait = 2 * time.Second

// startBackend serves on loopback: it greets each connection with name and a
// newline, echoes what it reads, and at the end of the stream writes "bye"
// and a newline before it closes, which only arrives if the proxy
// half-closes.
func startBackend(t *testing.T, name string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_, _ = io.WriteString(c, name+"\n")
				_, _ = io.Copy(c, c)
				_, _ = io.WriteString(c, "bye\n")
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})

	return l.Addr().String()
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	return addr
}

func testLogger(t *testing.T) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{Name: t.Name(), Output: t.Output(), Level: hclog.Debug})
}

// startProxy serves a Proxy on a loopback port until the test ends, then
// closes it and checks that Serve returned nil.
func startProxy(t *testing.T, cfg ProxyConfig) *Proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = l
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	p := NewProxy(cfg)
	errc := make(chan error, 1)
	go func() { errc <- p.Serve(context.Background()) }()
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})

	return p
}

// fixed resolves to addr.
func fixed(addr string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) { return addr, nil }
}

// dial connects to the proxy and closes the connection when the test ends.
func dial(t *testing.T, p *Proxy) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })

	return c.(*net.TCPConn)
}

// readLine reads one line, failing the test after closeWait.
func readLine(t *testing.T, c net.Conn) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	var line []byte
	b := make([]byte, 1)
	for {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("reading a line after %q: %v", line, err)
		}
		if b[0] == '\n' {
			return string(line)
		}
		line = append(line, b[0])
	}
}

// assertClosed checks that the proxy closes c within closeWait: a read ends
// with end of stream or a reset, not with the deadline. Data still in
// flight is skipped.
func assertClosed(t *testing.T, c net.Conn) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 512)
	for {
		_, err := c.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %s", closeWait)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read ended with %v, want end of stream or reset", err)
		}
		return
	}
}

// waitFor polls cond until it is true, failing the test after five seconds.
func waitFor(t *testing.T, description string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", description)
		case <-tick.C:
		}
	}
}

func TestProxyForwardsBothWays(t *testing.T) {
	p := startProxy(t, ProxyConfig{Resolve: fixed(startBackend(t, "one")), Service: "api", Port: 9229})
	c := dial(t, p)

	if got := readLine(t, c); got != "one" {
		t.Fatalf("greeting = %q, want %q", got, "one")
	}
	if got := p.Connections(); got != 1 {
		t.Errorf("Connections() = %d, want 1", got)
	}
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, c); got != "ping" {
		t.Fatalf("echo = %q, want %q", got, "ping")
	}

	// Half-close: the backend reads the end of the stream while the reply
	// still flows back.
	if _, err := io.WriteString(c, "last words"); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.SetReadDeadline(time.Now().Add(closeWait)); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading after half-close: %v", err)
	}
	if want := "last wordsbye\n"; string(rest) != want {
		t.Errorf("after half-close read %q, want %q", rest, want)
	}
	waitFor(t, "the connection to be released", func() bool { return p.Connections() == 0 })
}

func TestProxyLargeTransfer(t *testing.T) {
	p := startProxy(t, ProxyConfig{Resolve: fixed(startBackend(t, "big"))})
	c := dial(t, p)
	readLine(t, c)

	payload := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	werr := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		if err == nil {
			err = c.CloseWrite()
		}
		werr <- err
	}()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append(payload, "bye\n"...)) {
		t.Errorf("echoed %d bytes differing from the %d sent", len(got), len(payload))
	}
}

func TestProxyResolveErrorClosesClient(t *testing.T) {
	var calls atomic.Int32
	p := startProxy(t, ProxyConfig{Resolve: func(context.Context) (string, error) {
		calls.Add(1)
		return "", errors.New("service api is not running")
	}})

	c := dial(t, p)
	assertClosed(t, c)
	if calls.Load() != 1 {
		t.Errorf("Resolve called %d times, want 1", calls.Load())
	}
	if got := p.Connections(); got != 0 {
		t.Errorf("Connections() = %d, want 0", got)
	}
}

func TestProxyResolveTimeoutClosesClient(t *testing.T) {
	p := startProxy(t, ProxyConfig{
		DialTimeout: 20 * time.Millisecond,
		Resolve: func(ctx context.Context) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		},
	})
	assertClosed(t, dial(t, p))
}

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestProxyDialErrorLogsOnce(t *testing.T) {
	var logs syncBuffer
	backend := closedAddr(t)
	var target atomic.Value
	target.Store(backend)
	p := startProxy(t, ProxyConfig{
		Resolve: func(context.Context) (string, error) { return target.Load().(string), nil },
		Logger:  hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}),
		Service: "api",
		Port:    9229,
	})

	for range 3 {
		assertClosed(t, dial(t, p))
	}
	// The failure is logged before the client is closed.
	out := logs.String()
	if n := strings.Count(out, "[WARN]  cannot reach debug target"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "[DEBUG] cannot reach debug target"); n != 2 {
		t.Errorf("%d debug lines, want 2:\n%s", n, out)
	}
	if !strings.Contains(out, "failure_count=3") || !strings.Contains(out, "service=api") {
		t.Errorf("logs miss the failure count or the service:\n%s", out)
	}

	// A success ends the run: the next failure warns again.
	target.Store(startBackend(t, "up"))
	c := dial(t, p)
	readLine(t, c)
	if !strings.Contains(logs.String(), "debug target reachable again") {
		t.Errorf("recovery not logged:\n%s", logs.String())
	}
	target.Store(backend)
	assertClosed(t, dial(t, p))
	if n := strings.Count(logs.String(), "[WARN]  cannot reach debug target"); n != 2 {
		t.Errorf("%d warnings after recovery and a new failure, want 2:\n%s", n, logs.String())
	}
}

func TestProxyFollowsNewBackend(t *testing.T) {
	firstAddr, secondAddr := startBackend(t, "one"), startBackend(t, "two")
	var target atomic.Value
	target.Store(firstAddr)
	p := startProxy(t, ProxyConfig{Resolve: func(context.Context) (string, error) { return target.Load().(string), nil }})
	addr := p.Addr().String()

	old := dial(t, p)
	if got := readLine(t, old); got != "one" {
		t.Fatalf("first backend greeted %q", got)
	}

	target.Store(secondAddr)
	c := dial(t, p)
	if got := readLine(t, c); got != "two" {
		t.Fatalf("after the switch the backend greeted %q, want %q", got, "two")
	}
	if p.Addr().String() != addr {
		t.Errorf("proxy address changed from %s to %s", addr, p.Addr())
	}

	// The connection made before the switch keeps its backend until closed.
	if _, err := io.WriteString(old, "still here\n"); err != nil {
		t.Fatal(err)
	}
	if got := readLine(t, old); got != "still here" {
		t.Errorf("old connection echoed %q", got)
	}
	if got := p.Connections(); got != 2 {
		t.Errorf("Connections() = %d, want 2", got)
	}
}

func TestProxyCloseConnections(t *testing.T) {
	p := startProxy(t, ProxyConfig{Resolve: fixed(startBackend(t, "one"))})
	a, b := dial(t, p), dial(t, p)
	readLine(t, a)
	readLine(t, b)
	if got := p.Connections(); got != 2 {
		t.Fatalf("Connections() = %d, want 2", got)
	}

	p.CloseConnections()
	if got := p.Connections(); got != 0 {
		t.Errorf("Connections() = %d right after CloseConnections, want 0", got)
	}
	assertClosed(t, a)
	assertClosed(t, b)

	// The listener stays open for the debugger's next attempt.
	c := dial(t, p)
	if got := readLine(t, c); got != "one" {
		t.Errorf("new connection greeted %q", got)
	}
}

func TestProxyCloseWaitsForGoroutines(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	backend := startBackend(t, "one")
	var (
		resolving       = make(chan struct{}) // the second Resolve started
		cancelled       = make(chan struct{}) // its context ended
		release         = make(chan struct{}) // lets it return
		resolveReturned atomic.Bool
		calls           atomic.Int32
	)
	p := NewProxy(ProxyConfig{
		Listener: l,
		Logger:   testLogger(t),
		Resolve: func(ctx context.Context) (string, error) {
			if calls.Add(1) == 1 {
				return backend, nil
			}
			// The second connection stays in Resolve until the proxy gives
			// up on it and the test lets it go.
			close(resolving)
			<-ctx.Done()
			close(cancelled)
			<-release
			resolveReturned.Store(true)
			return "", ctx.Err()
		},
	})
	serveErr := make(chan error, 1)
	go func() { serveErr <- p.Serve(context.Background()) }()

	active := dial(t, p)
	readLine(t, active)
	pending := dial(t, p)
	waitClosed(t, resolving, "the second connection to reach Resolve")

	closeErr := make(chan error, 1)
	go func() { closeErr <- p.Close() }()
	waitClosed(t, cancelled, "Close to cancel Resolve")
	assertClosed(t, active)
	assertClosed(t, pending)
	// A negative check needs a window: Close must still be waiting for the
	// goroutine that sits in Resolve.
	select {
	case <-closeErr:
		t.Fatal("Close returned while a connection goroutine was still running")
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	select {
	case err := <-closeErr:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(closeWait):
		t.Fatal("Close did not return after its goroutines ended")
	}
	if !resolveReturned.Load() {
		t.Error("Resolve still running after Close returned")
	}
	// Close waits for Serve's loop, but the goroutine that calls Serve
	// hands its result over only after that.
	select {
	case err := <-serveErr:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(closeWait):
		t.Error("Serve still running after Close returned")
	}
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		_ = c.Close()
		t.Error("listener still accepts after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := p.Serve(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close = %v, want ErrClosed", err)
	}
}

// waitClosed waits for ch to be closed, failing the test after closeWait.
func waitClosed(t *testing.T, ch <-chan struct{}, description string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(closeWait):
		t.Fatalf("timed out waiting for %s", description)
	}
}

func TestProxyStopsWithContext(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(ProxyConfig{Listener: l, Logger: testLogger(t), Resolve: fixed(startBackend(t, "one"))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serveErr := make(chan error, 1)
	go func() { serveErr <- p.Serve(ctx) }()

	c := dial(t, p)
	readLine(t, c)
	if err := p.Serve(ctx); err == nil || errors.Is(err, ErrClosed) {
		t.Errorf("second Serve = %v, want an already serving error", err)
	}

	cancel()
	select {
	case err := <-serveErr:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(closeWait):
		t.Fatal("Serve did not return after its context ended")
	}
	assertClosed(t, c)
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		_ = c.Close()
		t.Error("listener still accepts after the context ended")
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestProxyCloseBeforeServe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := NewProxy(ProxyConfig{Listener: l, Resolve: fixed("127.0.0.1:1")})
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := p.Serve(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Close = %v, want ErrClosed", err)
	}
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("listener not closed by Close: Accept returned %v", err)
	}
}
