package debug

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// DefaultDialTimeout bounds finding and dialling the debug target for one
// debugger connection when ProxyConfig.DialTimeout is zero. It is short
// because a debugger waiting on a half-open connection is worse off than
// one that is rejected and retries.
const DefaultDialTimeout = time.Second

// Accept errors other than a closed listener (too many open files, aborted
// handshakes) are retried after a pause that doubles between these bounds.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// ErrClosed is returned by Serve when the Proxy was closed before Serve was
// called.
var ErrClosed = errors.New("debug proxy closed")

// Protocols a Proxy can speak on its debugger connections, the values of
// ProxyConfig.Protocol.
const (
	// ProtocolDetect reads the first bytes of each connection: an HTTP
	// request is served as ProtocolNode, anything else, or a target that
	// speaks first, as ProtocolTCP.
	ProtocolDetect = ""
	// ProtocolTCP forwards bytes without reading them, as Delve needs.
	ProtocolTCP = "tcp"
	// ProtocolNode serves the Node.js inspector's HTTP endpoints and
	// WebSocket sessions: see the package documentation.
	ProtocolNode = RuntimeNode
)

// ProxyConfig configures a Proxy. Listener and Resolve are required.
type ProxyConfig struct {
	// Listener accepts the debugger's connections on the host. The Proxy
	// owns it from NewProxy on and closes it on Close or when Serve's
	// context ends.
	Listener net.Listener

	// Resolve returns the address ("ip:port") of the debugger inside the
	// service's current container, or an error while the service is down.
	// After an error the debugger's connection is closed at once, so that
	// the debugger retries.
	//
	// Resolve is called once per accepted connection, from that
	// connection's goroutine, so calls may run concurrently. Its ctx ends
	// when the dial timeout passes or the connection is closed, and Resolve
	// must return soon after.
	Resolve func(ctx context.Context) (addr string, err error)

	// DialTimeout bounds Resolve and the dial together. Zero means
	// DefaultDialTimeout.
	DialTimeout time.Duration

	// Logger receives the proxy's logs. Nil discards them.
	Logger hclog.Logger

	// Service and Port name the service and its debug port in the container,
	// for logs.
	Service string
	Port    int

	// Protocol is ProtocolDetect, ProtocolTCP or ProtocolNode. Detection
	// waits for the first bytes of either side before forwarding, which
	// costs nothing to a debugger, since debuggers speak first.
	Protocol string

	// AllowOtherUsers turns off the same-user check. By default, on Linux,
	// a connection from a local process is accepted only when that process
	// runs as the user running devd, since a debugger runs any code it
	// sends. Connections from other machines, which only a listener on a
	// non-loopback address receives, have no local user and are not
	// checked.
	AllowOtherUsers bool

	// OnAttach and OnDetach, when set, are called as a debugger opens and
	// ends a Node.js inspector session (a WebSocket) through the Proxy,
	// with the debugger's address. They are called from the connection's
	// goroutine, one connection concurrently with another, and must return
	// quickly and not call Close.
	OnAttach func(remote string)
	OnDetach func(remote string)
}

// Proxy forwards TCP connections from a host listener to a service's debug
// port, resolving the container's address again for every connection, so
// the host port stays the same while containers come and go. Delve's
// connections are forwarded as bytes. The Node.js inspector's HTTP requests
// and WebSocket sessions are read, so that any host name reaches the
// inspector and a debugger that comes back after a restart finds the new
// process (see the package documentation).
//
// The Proxy owns the Listener: Close, or the end of Serve's context, closes
// it.
//
// All methods are safe for concurrent use. A second call to Serve returns
// an error. Close stops the Proxy, closes the listener and every
// connection, and returns once all goroutines the Proxy started have ended.
// Resolve must not call it, since Close waits for Resolve to return.
type Proxy struct {
	cfg         ProxyConfig
	log         hclog.Logger
	dialTimeout time.Duration

	// ctx is cancelled on shutdown and bounds every Resolve and dial.
	ctx    context.Context
	cancel context.CancelFunc

	closing   chan struct{}  // closed by shutdown
	serveDone chan struct{}  // closed when Serve returns, if it ran
	handlers  sync.WaitGroup // one per accepted connection, added only by Serve

	mu              sync.Mutex
	closed          bool                    // guarded by mu, set once by shutdown
	serving         bool                    // guarded by mu, set once by Serve
	closeErr        error                   // guarded by mu, from closing Listener
	conns           map[*forward]struct{}   // guarded by mu
	resolveFailures int                     // guarded by mu, since the last success
	dialFailures    int                     // guarded by mu, since the last success
	sessions        map[*session]struct{}   // guarded by mu, open inspector sessions
	delveConns      map[*delveConn]struct{} // guarded by mu, connections forwarded as bytes
	delvePaused     bool                    // guarded by mu, from Delve's traffic
	targets         recentTargets           // guarded by mu
	peerFailures    int                     // guarded by mu, same-user checks that could not run
}

// forward is one debugger connection, from accept until both sides are
// closed.
type forward struct {
	client net.Conn
	ctx    context.Context    // ends when the connection is closed
	cancel context.CancelFunc // ends ctx, and so any Resolve and dial

	// backend is the connection to the debug target in use. A plain
	// forward has one for its whole life; an inspector connection dials
	// one per HTTP request.
	backend net.Conn // guarded by Proxy.mu, nil when none is open
	closed  bool     // guarded by Proxy.mu
}

// NewProxy returns a Proxy that is ready to Serve. It panics if Listener or
// Resolve is nil.
func NewProxy(cfg ProxyConfig) *Proxy {
	if cfg.Listener == nil || cfg.Resolve == nil {
		panic("debug: NewProxy needs a Listener and a Resolve function")
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())

	return &Proxy{
		cfg:         cfg,
		log:         log.With("service", cfg.Service, "debug_port", cfg.Port),
		dialTimeout: timeout,
		ctx:         ctx,
		cancel:      cancel,
		closing:     make(chan struct{}),
		serveDone:   make(chan struct{}),
		conns:       make(map[*forward]struct{}),
		sessions:    make(map[*session]struct{}),
		delveConns:  make(map[*delveConn]struct{}),
	}
}

// Addr returns the listener's address.
func (p *Proxy) Addr() net.Addr {
	return p.cfg.Listener.Addr()
}

// Serve accepts connections until ctx ends or Close is called, then closes
// the listener and all connections, waits for their goroutines and returns
// nil. It returns an error if the listener fails for another reason (after
// cleaning up the same way), if Serve is already running, or ErrClosed if
// the Proxy was closed before.
func (p *Proxy) Serve(ctx context.Context) error {
	p.mu.Lock()
	switch {
	case p.closed:
		p.mu.Unlock()
		return ErrClosed
	case p.serving:
		p.mu.Unlock()
		return errors.New("debug proxy is already serving")
	}
	p.serving = true
	p.mu.Unlock()
	defer close(p.serveDone)

	// shutdown does not block, so this goroutine ends as soon as either
	// channel is ready.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		select {
		case <-ctx.Done():
			p.shutdown()
		case <-p.closing:
		}
	}()
	defer func() {
		p.shutdown()
		<-watchDone
		p.handlers.Wait()
	}()

	p.log.Debug("debug proxy serving", "listen_addr", p.Addr().String())
	var backoff time.Duration
	for {
		c, err := p.cfg.Listener.Accept()
		if err != nil {
			if p.isClosed() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("accepting debugger connections on %s: %w", p.Addr(), err)
			}
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			p.log.Warn("accepting debugger connection failed", "error", err, "retry_in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-p.closing:
				t.Stop()
				return nil
			}
			continue
		}
		backoff = 0

		p.handlers.Add(1)
		go p.handle(c)
	}
}

// Connections returns the number of debugger connections currently
// forwarded to the service: byte connections, and inspector connections
// while a request or session is under way.
func (p *Proxy) Connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for f := range p.conns {
		if f.backend != nil && !f.closed {
			n++
		}
	}

	return n
}

// CloseConnections closes every debugger connection, forwarded or still
// being dialled, and leaves the listener open. devd calls it when the
// service restarts, so that the debugger notices at once and attaches
// again to the new process. It does not wait for the connections'
// goroutines to end.
func (p *Proxy) CloseConnections() {
	p.mu.Lock()
	var closing []net.Conn
	for f := range p.conns {
		if f.closed {
			continue
		}
		f.closed = true
		f.cancel()
		closing = append(closing, f.client)
		if f.backend != nil {
			closing = append(closing, f.backend)
		}
	}
	p.mu.Unlock()

	for _, c := range closing {
		_ = c.Close()
	}
}

// Close stops accepting, closes the listener and every connection, and
// waits for the Proxy's goroutines, including a running Serve's accept
// loop. It returns the error of closing the listener, if any, and so does
// every later call.
func (p *Proxy) Close() error {
	p.shutdown()

	p.mu.Lock()
	serving, err := p.serving, p.closeErr
	p.mu.Unlock()
	if serving {
		<-p.serveDone
	}
	p.handlers.Wait()

	return err
}

// shutdown stops the Proxy without waiting for anything. Only the first
// call has an effect.
func (p *Proxy) shutdown() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()

	p.cancel()
	err := p.cfg.Listener.Close()
	if err != nil && !errors.Is(err, net.ErrClosed) {
		p.mu.Lock()
		p.closeErr = fmt.Errorf("closing debug proxy listener %s: %w", p.Addr(), err)
		p.mu.Unlock()
	}
	p.CloseConnections()
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()

	return p.closed
}

// handle serves one accepted connection until both sides are closed.
func (p *Proxy) handle(client net.Conn) {
	defer p.handlers.Done()

	if !p.allowPeer(client) {
		_ = client.Close()
		return
	}
	ctx, cancel := context.WithCancel(p.ctx)
	defer cancel()
	f := &forward{client: client, ctx: ctx, cancel: cancel}
	if !p.track(f) {
		_ = client.Close()
		return
	}
	defer p.untrack(f)

	// The target is dialled before anything is read, so that while the
	// service is down the debugger's connection is closed at once.
	backend, ok := p.dialTarget(f)
	if !ok {
		return
	}
	remote := client.RemoteAddr().String()
	p.log.Debug("debugger connected", "remote_addr", remote, "target_addr", backend.RemoteAddr().String())
	defer p.log.Debug("debugger disconnected", "remote_addr", remote)

	switch p.cfg.Protocol {
	case ProtocolTCP:
		p.pipeTapped(client, client, backend, backend)
	case ProtocolNode:
		cr := bufio.NewReaderSize(client, maxRequestHeader)
		p.serveInspector(f, cr, backend, bufio.NewReader(backend))
	default:
		p.serveDetected(f, backend)
	}
}

// dialTarget resolves and dials the debug target for f and records the
// connection as f's backend. It reports false, after logging why, when the
// target cannot be reached or f was closed meanwhile.
func (p *Proxy) dialTarget(f *forward) (net.Conn, bool) {
	ctx, cancel := context.WithTimeout(f.ctx, p.dialTimeout)
	defer cancel()

	addr, err := p.cfg.Resolve(ctx)
	if err != nil {
		p.noteFailure(ctx, &p.resolveFailures, "debug target unavailable, closing debugger connection", hclog.Info, "", err)
		return nil, false
	}
	var d net.Dialer
	backend, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		p.noteFailure(ctx, &p.dialFailures, "cannot reach debug target, closing debugger connection", hclog.Warn, addr, err)
		return nil, false
	}
	if !p.attach(f, backend) {
		_ = backend.Close()
		return nil, false
	}

	return backend, true
}

// track registers f, or reports false when the Proxy is already closed.
func (p *Proxy) track(f *forward) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[f] = struct{}{}

	return true
}

// attach records f's backend, in place of any earlier one, or reports false
// when f was closed while it was being dialled. A success also ends any run
// of failures.
func (p *Proxy) attach(f *forward, backend net.Conn) bool {
	p.mu.Lock()
	if f.closed {
		p.mu.Unlock()
		return false
	}
	f.backend = backend
	failures := p.resolveFailures + p.dialFailures
	p.resolveFailures, p.dialFailures = 0, 0
	p.mu.Unlock()

	if failures > 0 {
		p.log.Info("debug target reachable again", "failure_count", failures)
	}

	return true
}

// release closes backend, one of f's target connections, and clears f's
// current backend when it is this one.
func (p *Proxy) release(f *forward, backend net.Conn) {
	p.mu.Lock()
	if f.backend == backend {
		f.backend = nil
	}
	p.mu.Unlock()
	_ = backend.Close()
}

// untrack removes f from the tracked connections and closes both its
// sides.
func (p *Proxy) untrack(f *forward) {
	p.mu.Lock()
	delete(p.conns, f)
	f.closed = true
	backend := f.backend
	p.mu.Unlock()

	_ = f.client.Close()
	if backend != nil {
		_ = backend.Close()
	}
}

// noteFailure logs a failed Resolve or dial, rate-limited: the first of a
// run of failures at the given level, the later ones at debug with their
// count, since a debugger retries every second while the service is down.
// Failures caused by closing the connection or the Proxy are not logged.
func (p *Proxy) noteFailure(ctx context.Context, counter *int, msg string, level hclog.Level, addr string, err error) {
	if errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	p.mu.Lock()
	*counter++
	n := *counter
	p.mu.Unlock()

	args := []any{"error", err}
	if addr != "" {
		args = append(args, "target_addr", addr)
	}
	if n > 1 {
		level = hclog.Debug
		args = append(args, "failure_count", n)
	}
	p.log.Log(level, msg, args...)
}

// halfCloser is a connection that can end its sending side alone, as
// *net.TCPConn and *net.UnixConn can.
type halfCloser interface {
	CloseWrite() error
}

// pipe copies between a and b in both directions and returns when both
// directions have ended. ar and br are where a's and b's data is read
// from: the connections themselves, or readers that hold bytes already
// read from them.
func pipe(a net.Conn, ar io.Reader, b net.Conn, br io.Reader) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyHalf(b, ar, a)
	}()
	copyHalf(a, br, b)
	<-done
}

// copyHalf copies src, which reads srcConn, to dst. When src ends cleanly
// it half-closes dst, so the peer reads the end of the stream while the
// other direction keeps flowing. On an error, or if dst cannot half-close,
// it closes both connections, which also ends the other direction.
func copyHalf(dst net.Conn, src io.Reader, srcConn net.Conn) {
	_, err := io.Copy(dst, src)
	if err == nil {
		if hc, ok := dst.(halfCloser); ok && hc.CloseWrite() == nil {
			return
		}
	}
	_ = dst.Close()
	_ = srcConn.Close()
}
