package delve

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-delve/delve/service/api"
	"github.com/go-delve/delve/service/rpc2"
)

// Client is a JSON-RPC connection to a Delve server that accepts several
// clients. Its methods may be called from several goroutines. Delve serves
// the calls of one connection in order, so a call that waits for the
// program to stop can delay the calls behind it. A call cut short by its
// context closes the connection, and every later call fails.
type Client struct {
	conn    net.Conn
	rpc     *rpc2.RPCClient
	timeout time.Duration // bounds the calls that take no context

	closeOnce sync.Once
}

// Dial connects to the Delve server at addr (host:port), waiting at most
// timeout for the connection and Delve's first response.
//
// The server must accept several clients: the daemon may call Dial only
// when [MulticlientFromArgs] is true for the service's command line.
// Connecting to a single-client server takes its only slot, and Delve ends
// the program when that connection closes.
func Dial(ctx context.Context, addr string, timeout time.Duration) (*Client, error) {
	conn, err := dialConn(ctx, addr, timeout)
	if err != nil {
		return nil, err
	}

	// NewClientFromConn sets the API version with a call of its own, which
	// would wait forever on a server that accepted the connection but never
	// serves it: the deadline bounds it and the version check after it.
	deadline := time.Now().Add(timeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	if err := conn.SetDeadline(deadline); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connecting to delve at %s: %w", addr, err)
	}
	c := &Client{conn: conn, rpc: rpc2.NewClientFromConn(conn), timeout: timeout}
	var version api.GetVersionOut
	if err := c.rpc.CallAPI("GetVersion", api.GetVersionIn{}, &version); err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to delve at %s: %w", addr, err)
	}
	if err := conn.SetDeadline(time.Time{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("connecting to delve at %s: %w", addr, err)
	}

	return c, nil
}

// dialConn opens a TCP connection within timeout and ctx.
func dialConn(ctx context.Context, addr string, timeout time.Duration) (net.Conn, error) {
	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to delve at %s: %w", addr, err)
	}

	return conn, nil
}

// Close closes the connection. On a multiclient server the program and the
// other clients go on; the program keeps its state (running or paused).
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() { err = c.conn.Close() })

	return err
}

// Do runs fn, which makes calls on the underlying rpc2 client, bounded by
// ctx: when ctx ends first the connection is closed, which ends fn's calls,
// and Do returns ctx's error. Use it for calls this type does not wrap.
func (c *Client) Do(ctx context.Context, fn func(*rpc2.RPCClient) error) error {
	done := make(chan error, 1)
	go func() { done <- fn(c.rpc) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		c.Close()
		<-done
		return ctx.Err()
	}
}

// Multiclient reports whether the server accepts several clients. Delve
// responds at once, even while the program runs.
func (c *Client) Multiclient() (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	var out rpc2.IsMulticlientOut
	err := c.Do(ctx, func(r *rpc2.RPCClient) error {
		return r.CallAPI("IsMulticlient", rpc2.IsMulticlientIn{}, &out)
	})
	if err != nil {
		return false, fmt.Errorf("asking delve for multiclient mode: %w", err)
	}

	return out.IsMulticlient, nil
}

// State reports whether the program runs or has exited, without waiting for
// it to stop. Neither running nor exited means paused: at a breakpoint,
// halted, or not yet started.
func (c *Client) State(ctx context.Context) (running, exited bool, err error) {
	var st *api.DebuggerState
	err = c.Do(ctx, func(r *rpc2.RPCClient) error {
		var e error
		st, e = r.GetStateNonBlocking()
		return e
	})
	if err != nil {
		// Delve responds with an error about a program that has exited.
		if isExited(err) {
			return false, true, nil
		}
		return false, false, fmt.Errorf("reading delve state: %w", err)
	}

	return st.Running, st.Exited, nil
}

// Paused reports whether the program is stopped and alive.
func (c *Client) Paused(ctx context.Context) (bool, error) {
	running, exited, err := c.State(ctx)

	return !running && !exited && err == nil, err
}

// isExited reports whether err is Delve's error about a program that has
// exited. Delve sends it as text, so its type is lost on the wire.
func isExited(err error) bool {
	return err != nil && strings.Contains(err.Error(), "has exited with status")
}
