package debug

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/internal/cdp"
)

// cdpWait bounds waiting for one response or event of the inspector.
const cdpWait = 5 * time.Second

// cdpClient is a Chrome DevTools Protocol session whose methods fail the
// test on an error.
type cdpClient struct {
	t    *testing.T
	conn *cdp.Conn
}

// dialCDP opens wsURL, connecting to proxyAddr whatever host the URL
// names, as a name in /etc/hosts that points at the proxy would.
func dialCDP(t *testing.T, proxyAddr, wsURL string, header http.Header) (*cdpClient, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	d := cdp.Dialer{Addr: proxyAddr, Header: header}
	conn, err := d.Dial(ctx, wsURL)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = conn.Close() })

	return &cdpClient{t: t, conn: conn}, nil
}

// call sends a command and returns its result, keeping the events that
// arrive meanwhile.
func (c *cdpClient) call(method string, params any) json.RawMessage {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	raw, err := c.conn.Call(ctx, method, params)
	if err != nil {
		c.t.Fatal(err)
	}

	return raw
}

// waitEvent returns the params of the first event named method, kept or
// still to come, and drops the events before it.
func (c *cdpClient) waitEvent(method string) json.RawMessage {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	raw, err := c.conn.WaitEvent(ctx, method)
	if err != nil {
		c.t.Fatal(err)
	}

	return raw
}

// waitClosed waits for the connection to end, and fails the test when it
// stays open for closeWait.
func (c *cdpClient) waitClosed() {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), closeWait)
	defer cancel()
	if err := c.conn.Wait(ctx); err != nil {
		c.t.Fatalf("session still open after %s", closeWait)
	}
}

// evaluate runs expr in the program and returns its value.
func (c *cdpClient) evaluate(expr string) any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	v, err := c.conn.Evaluate(ctx, expr)
	if err != nil {
		c.t.Fatal(err)
	}

	return v
}

// waitPaused waits for Debugger.paused, which must have call frames.
func (c *cdpClient) waitPaused() *cdp.Pause {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cdpWait)
	defer cancel()
	p, err := c.conn.WaitPause(ctx)
	if err != nil {
		c.t.Fatal(err)
	}

	return p
}

// lineOf returns the 0-based number of the first line of src that
// contains marker, as CDP counts lines.
func lineOf(t *testing.T, src, marker string) int {
	t.Helper()
	for i, line := range strings.Split(src, "\n") {
		if strings.Contains(line, marker) {
			return i
		}
	}
	t.Fatalf("no line contains %q", marker)

	return 0
}
