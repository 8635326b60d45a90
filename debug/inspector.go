package debug

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxRequestHeader bounds the header of one HTTP request from a debugger;
// a longer one is refused. Real requests are a few hundred bytes.
const maxRequestHeader = 32 << 10

// maxRewrittenBody bounds the responses whose URLs the Proxy rewrites. A
// target list is under a kilobyte, and a larger response passes unchanged.
const maxRewrittenBody = 1 << 20

// inspectorExchangeTimeout bounds one HTTP exchange or WebSocket handshake
// with the inspector, and the writing of its response to the debugger. The
// inspector responds from a thread of its own even while the program is
// paused, so only a frozen container makes it wait.
const inspectorExchangeTimeout = 5 * time.Second

// errHeaderTooLarge is returned by waitHeader for a request header over
// maxRequestHeader.
var errHeaderTooLarge = errors.New("request header too large")

// inspectorConn is one debugger connection to a Node.js inspector: a series
// of HTTP requests, each sent on a target connection of its own, which may
// end with a WebSocket session.
//
// It belongs to the connection's goroutine.
type inspectorConn struct {
	p  *Proxy
	f  *forward
	cr *bufio.Reader // the debugger's side

	// next is a target connection dialled and not yet used, nextR reads
	// it. The connection's first request uses the one dialled on accept.
	next  net.Conn
	nextR *bufio.Reader

	// sentHost is the Host header the inspector is sent, and so the host
	// its URLs name.
	sentHost string
}

// serveInspector serves HTTP requests from the debugger until the
// connection ends or turns into a WebSocket session. backend is the target
// connection dialled on accept, which br reads.
func (p *Proxy) serveInspector(f *forward, cr *bufio.Reader, backend net.Conn, br *bufio.Reader) {
	c := &inspectorConn{p: p, f: f, cr: cr, next: backend, nextR: br}
	defer func() {
		if c.next != nil {
			p.release(f, c.next)
		}
	}()
	_, localPort, err := net.SplitHostPort(f.client.LocalAddr().String())
	if err != nil {
		return
	}
	c.sentHost = inspectorHost(localPort)

	for {
		// A debugger may keep an idle connection, but once a request has
		// begun it must arrive in good time.
		if err := f.client.SetReadDeadline(time.Time{}); err != nil {
			return
		}
		if _, err := cr.Peek(1); err != nil {
			return
		}
		if err := f.client.SetReadDeadline(time.Now().Add(inspectorExchangeTimeout)); err != nil {
			return
		}
		if err := waitHeader(cr); err != nil {
			if errors.Is(err, errHeaderTooLarge) {
				c.reject(http.StatusRequestHeaderFieldsTooLarge, err.Error())
			}
			return
		}
		req, err := http.ReadRequest(cr)
		if err != nil {
			c.reject(http.StatusBadRequest, "malformed HTTP request")
			return
		}
		public, err := publicHost(req.Host, f.client.LocalAddr())
		if err != nil {
			c.reject(http.StatusBadRequest, err.Error())
			return
		}
		if isUpgrade(req) {
			c.upgrade(req)
			return
		}
		if !c.exchange(req, public) {
			return
		}
	}
}

// waitHeader waits until r holds a whole request header, so that reading
// it cannot grow past r's buffer. It returns the read error, or
// errHeaderTooLarge when the buffer fills first.
func waitHeader(r *bufio.Reader) error {
	for n := 1; ; {
		if _, err := r.Peek(n); err != nil {
			if errors.Is(err, bufio.ErrBufferFull) {
				return errHeaderTooLarge
			}
			return err
		}
		b, _ := r.Peek(r.Buffered())
		if bytes.Contains(b, []byte("\n\r\n")) || bytes.Contains(b, []byte("\n\n")) {
			return nil
		}
		// Everything buffered has been searched: wait for more.
		n = len(b) + 1
	}
}

// isUpgrade reports whether req requests a switch to WebSocket.
func isUpgrade(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get("Upgrade"), "websocket") &&
		headerHasToken(req.Header, "Connection", "upgrade")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}

	return false
}

// target returns a target connection for the next request: the one
// dialled on accept if unused, or a new one.
func (c *inspectorConn) target() (net.Conn, *bufio.Reader, bool) {
	if c.next != nil {
		conn, r := c.next, c.nextR
		c.next, c.nextR = nil, nil
		return conn, r, true
	}
	conn, ok := c.p.dialTarget(c.f)
	if !ok {
		return nil, nil, false
	}

	return conn, bufio.NewReader(conn), true
}

// exchange forwards one request and its response, with the response's
// URLs naming public, and reports whether the debugger's connection may carry
// another request.
func (c *inspectorConn) exchange(req *http.Request, public string) bool {
	conn, r, ok := c.target()
	if !ok {
		return false
	}
	defer c.p.release(c.f, conn)

	resp, ok := c.send(conn, r, req)
	if !ok {
		return false
	}
	defer resp.Body.Close()

	if req.Method == http.MethodGet && resp.StatusCode == http.StatusOK && rewritablePath(req.URL.Path) {
		c.rewrite(resp, public)
	}
	if err := c.f.client.SetWriteDeadline(time.Now().Add(inspectorExchangeTimeout)); err != nil {
		return false
	}
	if err := resp.Write(c.f.client); err != nil {
		c.p.log.Debug("writing inspector response to debugger failed", "error", err)
		return false
	}
	if err := c.f.client.SetWriteDeadline(time.Time{}); err != nil {
		return false
	}

	return !req.Close && !resp.Close
}

// send writes req to the inspector on conn, with the Host header the
// inspector accepts, and reads the response's header.
func (c *inspectorConn) send(conn net.Conn, r *bufio.Reader, req *http.Request) (*http.Response, bool) {
	req.Host = c.sentHost
	if err := conn.SetDeadline(time.Now().Add(inspectorExchangeTimeout)); err != nil {
		return nil, false
	}
	if err := req.Write(conn); err != nil {
		c.p.log.Debug("sending request to inspector failed", "error", err)
		return nil, false
	}
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		c.p.log.Debug("reading inspector response failed", "error", err)
		c.reject(http.StatusBadGateway, "no response from the Node.js inspector")
		return nil, false
	}

	return resp, true
}

// rewrite replaces resp's body with one whose URLs name public, and
// remembers the target ids it lists.
func (c *inspectorConn) rewrite(resp *http.Response, public string) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRewrittenBody+1))
	rest := resp.Body
	if err != nil || len(body) > maxRewrittenBody {
		resp.Body = readCloser{io.MultiReader(bytes.NewReader(body), rest), rest}
		return
	}
	body = rewriteURLs(body, c.sentHost, public)
	if ids := targetIDs(body); len(ids) > 0 {
		c.p.rememberTargets(ids...)
	}
	resp.Body = readCloser{bytes.NewReader(body), rest}
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
}

// readCloser reads r and closes c.
type readCloser struct {
	io.Reader
	c io.Closer
}

func (rc readCloser) Close() error { return rc.c.Close() }

// upgrade forwards a WebSocket handshake and, once the inspector accepts
// it, relays the session until either side ends it.
func (c *inspectorConn) upgrade(req *http.Request) {
	client := c.f.client
	if err := checkOrigin(req.Header.Get("Origin")); err != nil {
		c.p.log.Warn("rejecting debugger session from a web page", "remote_addr", client.RemoteAddr().String(), "error", err)
		c.reject(http.StatusForbidden, err.Error())
		return
	}
	c.retarget(req)

	conn, r, ok := c.target()
	if !ok {
		return
	}
	defer c.p.release(c.f, conn)
	// The inspector does not compress; asking it to would only hide the
	// messages the Proxy watches.
	req.Header.Del("Sec-WebSocket-Extensions")
	resp, ok := c.send(conn, r, req)
	if !ok {
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		_ = client.SetWriteDeadline(time.Now().Add(inspectorExchangeTimeout))
		_ = resp.Write(client)
		return
	}
	c.p.rememberTargets(strings.TrimPrefix(req.URL.Path, "/"))
	if err := conn.SetDeadline(time.Time{}); err != nil {
		return
	}
	if err := writeSwitch(client, resp); err != nil {
		return
	}

	if err := client.SetReadDeadline(time.Time{}); err != nil {
		return
	}
	s := c.p.openSession(client.RemoteAddr().String())
	defer c.p.closeSession(s)
	watcher := &frameWatcher{onMethod: func(m string) { c.p.noteMethod(s, m) }}
	relaySession(client, c.cr, conn, io.TeeReader(r, watcher))
}

// retarget points a handshake for a target the inspector no longer has
// (the process restarted since the debugger read the id) at the current
// target, when the inspector has exactly one, as Node.js always has. Only
// ids the inspector reported through this Proxy are moved: an id is what
// keeps a page that cannot read /json/list out of a session.
func (c *inspectorConn) retarget(req *http.Request) {
	id := strings.TrimPrefix(req.URL.Path, "/")
	if !c.p.knownTarget(id) {
		return
	}
	current, ok := c.listTargets()
	if !ok || len(current) != 1 || current[0] == id {
		return
	}
	c.p.log.Debug("sending debugger to the current process", "old_target", id, "target", current[0])
	req.URL.Path = "/" + current[0]
	req.URL.RawPath = ""
}

// listTargets requests the inspector's target ids.
func (c *inspectorConn) listTargets() ([]string, bool) {
	conn, r, ok := c.target()
	if !ok {
		return nil, false
	}
	defer c.p.release(c.f, conn)

	req, err := http.NewRequest(http.MethodGet, "http://"+c.sentHost+"/json/list", nil)
	if err != nil {
		return nil, false
	}
	if err := conn.SetDeadline(time.Now().Add(inspectorExchangeTimeout)); err != nil {
		return nil, false
	}
	if err := req.Write(conn); err != nil {
		return nil, false
	}
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxRewrittenBody))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, false
	}
	ids := targetIDs(body)
	c.p.rememberTargets(ids...)

	return ids, true
}

// writeSwitch writes the inspector's 101 response to the debugger as it
// came.
func writeSwitch(w net.Conn, resp *http.Response) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/%d.%d %s\r\n", resp.ProtoMajor, resp.ProtoMinor, resp.Status)
	if err := resp.Header.Write(&b); err != nil {
		return err
	}
	b.WriteString("\r\n")
	if err := w.SetWriteDeadline(time.Now().Add(inspectorExchangeTimeout)); err != nil {
		return err
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		return err
	}

	return w.SetWriteDeadline(time.Time{})
}

// relaySession copies a WebSocket session both ways until either side ends
// it, then closes both: a session has no use for a half-closed connection.
func relaySession(client net.Conn, fromClient io.Reader, target net.Conn, fromTarget io.Reader) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(target, fromClient)
		_ = target.Close()
		_ = client.Close()
	}()
	_, _ = io.Copy(client, fromTarget)
	_ = target.Close()
	_ = client.Close()
	<-done
}

// reject responds to the debugger with an error status and a short text,
// for requests the Proxy does not forward.
func (c *inspectorConn) reject(status int, text string) {
	body := text + "\n"
	resp := fmt.Sprintf("HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	_ = c.f.client.SetWriteDeadline(time.Now().Add(inspectorExchangeTimeout))
	_, _ = io.WriteString(c.f.client, resp)
}
