// Package cdp is a small client of the Chrome DevTools Protocol over
// WebSocket, as the Node.js inspector (node --inspect) serves it. It
// matches responses to calls by id and keeps events until a caller waits
// for them, so no event is lost between a call and the wait for it.
//
// The debug proxy's tests, the end-to-end tests and breakpoint-bench use
// it as an IDE's debugger would.
package cdp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"

	"github.com/gorilla/websocket"
)

// ErrEnded is wrapped by the errors of calls and waits that the end of the
// connection cut short. Conn.Err returns why the connection ended.
var ErrEnded = errors.New("connection ended")

// maxListBody bounds the /json/list response that ListTargets reads.
const maxListBody = 1 << 20

// Message is one message from the inspector: a response to a call, with
// ID set, or an event, with Method set.
type Message struct {
	ID     int             `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Error is the error member of a response, sent when the inspector could
// not carry out a call.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error returns the message of the error response.
func (e *Error) Error() string { return e.Message }

// request is a call as it goes on the wire.
type request struct {
	ID     int    `json:"id"`
	Method string `json:"method"`
	Params any    `json:"params,omitempty"`
}

// Target is an entry of the inspector's /json/list.
type Target struct {
	ID                   string `json:"id"`
	Type                 string `json:"type"`
	Title                string `json:"title"`
	URL                  string `json:"url"`
	WebSocketDebuggerURL string `json:"webSocketDebuggerUrl"`
	DevtoolsFrontendURL  string `json:"devtoolsFrontendUrl"`
}

// ListTargets gets /json/list from the inspector's HTTP endpoint at addr
// (host:port). A host other than "" is sent as the Host header, which is
// the name the inspector puts into the WebSocket URLs it lists. The
// connection is closed after the response.
func ListTargets(ctx context.Context, addr, host string) ([]Target, error) {
	url := "http://" + addr + "/json/list"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if host != "" {
		req.Host = host
	}
	client := http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListBody))
	if err != nil {
		return nil, fmt.Errorf("reading the response to GET %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	var targets []Target
	if err := json.Unmarshal(body, &targets); err != nil {
		return nil, fmt.Errorf("decoding /json/list %q: %w", body, err)
	}
	return targets, nil
}

// Dialer contains the options for opening a connection. The zero Dialer
// connects to the host that the URL names and sends no extra headers.
type Dialer struct {
	// Addr is the TCP address (host:port) to connect to whatever host the
	// URL names, as a name in /etc/hosts that points at a proxy would. An
	// empty Addr means the URL's host.
	Addr string

	// Header contains extra headers of the WebSocket handshake, such as
	// Origin.
	Header http.Header

	// CloseOn is the method of an event on which the client closes the
	// connection as soon as the event arrives. Node.js waits for its
	// debuggers to leave before a program exits, so a client that does
	// not wait on the connection sets "Runtime.executionContextDestroyed"
	// to let the program end.
	CloseOn string
}

// Dial opens a connection to the WebSocket URL wsURL, such as a Target's
// WebSocketDebuggerURL. ctx bounds the handshake only; Close ends the
// connection.
func (d *Dialer) Dial(ctx context.Context, wsURL string) (*Conn, error) {
	dialer := websocket.Dialer{}
	if d.Addr != "" {
		addr := d.Addr
		dialer.NetDialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			var nd net.Dialer
			return nd.DialContext(ctx, network, addr)
		}
	}
	ws, resp, err := dialer.DialContext(ctx, wsURL, d.Header)
	if resp != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("opening %s: %w (%s)", wsURL, err, resp.Status)
		}
		return nil, fmt.Errorf("opening %s: %w", wsURL, err)
	}
	c := &Conn{
		ws:      ws,
		closeOn: d.CloseOn,
		done:    make(chan struct{}),
		pending: map[int]chan Message{},
		added:   make(chan struct{}),
	}
	go c.read()
	return c, nil
}

// Dial opens a connection to wsURL through the TCP address addr, or
// through the URL's host when addr is "". See Dialer for more options.
func Dial(ctx context.Context, addr, wsURL string) (*Conn, error) {
	d := Dialer{Addr: addr}
	return d.Dial(ctx, wsURL)
}

// Conn is a connection to an inspector target. Its methods are safe for
// concurrent use, but two concurrent WaitEvent calls take events from one
// buffer, and each drops the events that it passes over.
type Conn struct {
	ws      *websocket.Conn
	closeOn string
	writeMu sync.Mutex    // serializes writes, as gorilla/websocket requires
	done    chan struct{} // closed when the reader stops

	mu      sync.Mutex
	next    int                  // the last call id used
	pending map[int]chan Message // calls waiting for their response, by id
	events  []Message            // events not yet taken by WaitEvent
	added   chan struct{}        // closed and replaced when an event is added
	err     error                // the reason the connection ended, set before done is closed
}

// read takes every message off the connection until it ends, hands
// responses to their calls and keeps events. It never blocks on a caller.
func (c *Conn) read() {
	var err error
	for {
		var m Message
		if err = c.ws.ReadJSON(&m); err != nil {
			break
		}
		if m.Method == "" {
			c.respond(m)
			continue
		}
		c.mu.Lock()
		c.events = append(c.events, m)
		close(c.added)
		c.added = make(chan struct{})
		c.mu.Unlock()
		if m.Method == c.closeOn {
			_ = c.ws.Close()
			err = fmt.Errorf("closed on the event %s", m.Method)
			break
		}
	}
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
	close(c.done)
}

// respond hands a response to the call waiting for it, and drops a
// response that no call waits for any more.
func (c *Conn) respond(m Message) {
	c.mu.Lock()
	ch := c.pending[m.ID]
	delete(c.pending, m.ID)
	c.mu.Unlock()
	if ch != nil {
		ch <- m
	}
}

// Close closes the connection. Calls and waits in progress return an error
// that wraps ErrEnded.
func (c *Conn) Close() error {
	return c.ws.Close()
}

// NetConn returns the underlying network connection, for a test that
// writes bytes that are not WebSocket frames.
func (c *Conn) NetConn() net.Conn {
	return c.ws.NetConn()
}

// Done returns a channel that is closed when the connection has ended.
func (c *Conn) Done() <-chan struct{} {
	return c.done
}

// Err returns why the connection ended: the read error, or the CloseOn
// event. It returns nil while the connection is open.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Wait waits for the connection to end, closed by either side, and
// returns nil, or ctx's error if ctx ends first. Err returns the reason.
func (c *Conn) Wait(ctx context.Context) error {
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ended returns the error of an operation that the end of the connection
// cut short.
func (c *Conn) ended(operation string) error {
	return fmt.Errorf("%s: %w: %w", operation, ErrEnded, c.Err())
}

// Call sends the command method with params, which may be nil, and
// returns the result of its response. An error response is returned as an
// error that wraps *Error. Events that arrive meanwhile are kept for
// WaitEvent.
func (c *Conn) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	ch := make(chan Message, 1)
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return nil, c.ended(method)
	}
	c.next++
	id := c.next
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()

	if err := c.write(ctx, request{ID: id, Method: method, Params: params}); err != nil {
		return nil, fmt.Errorf("sending %s: %w", method, err)
	}

	var m Message
	select {
	case m = <-ch:
	case <-c.done:
		// The reader hands over a response before it stops.
		select {
		case m = <-ch:
		default:
			return nil, c.ended(method)
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the response to %s: %w", method, ctx.Err())
	}
	if m.Error != nil {
		return nil, fmt.Errorf("%s: %w", method, m.Error)
	}
	return m.Result, nil
}

// write sends v as one text message, by ctx's deadline if it has one.
func (c *Conn) write(ctx context.Context, v any) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	deadline, _ := ctx.Deadline() // the zero time means no deadline
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return c.ws.WriteJSON(v)
}

// WaitEvent returns the params of the first event named method, whether
// it arrived before the call or arrives later. It drops the events that
// came before that one, so a later wait finds only newer events.
func (c *Conn) WaitEvent(ctx context.Context, method string) (json.RawMessage, error) {
	for {
		c.mu.Lock()
		for i, m := range c.events {
			if m.Method == method {
				c.events = c.events[i+1:]
				c.mu.Unlock()
				return m.Params, nil
			}
		}
		c.events = nil
		added, ended := c.added, c.err != nil
		c.mu.Unlock()
		if ended {
			return nil, c.ended("waiting for " + method)
		}

		select {
		case <-added:
		case <-c.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", method, ctx.Err())
		}
	}
}
