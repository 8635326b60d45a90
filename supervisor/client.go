package supervisor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// readyTimeoutMargin is subtracted from the caller's deadline to get the
// server's readiness timeout, so the response arrives before the caller
// gives up.
const readyTimeoutMargin = 500 * time.Millisecond

// maxErrorBody caps how much of an error response the client reads.
const maxErrorBody = 4 << 10

// Client sends restart, status and signal requests to a supervisor. A
// Client is safe for concurrent use, and it keeps no connection open
// between calls.
type Client struct {
	socket string
	http   *http.Client
}

// NewSocketClient returns a client for the supervisor listening on the Unix
// socket at path: a host path of the socket in the bind-mounted control
// folder, or AbstractSocket from inside the container's network namespace.
func NewSocketClient(path string) *Client {
	dialer := &net.Dialer{}
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "unix", path)
		},
		// Requests are rare and the supervisor may restart between two of
		// them, so a kept connection buys nothing.
		DisableKeepAlives: true,
	}
	return &Client{socket: path, http: &http.Client{Transport: transport}}
}

// ExecArgs returns the command that runs the client inside the container,
// for `docker exec`: op is "restart" or "status".
func ExecArgs(op string) []string {
	return []string{BinaryPath, "supervise", "ctl", op}
}

// Restart requests that the supervisor stop the command and start it
// again, and waits for the response. When ctx has a deadline, the supervisor's
// readiness wait is bounded to end a little before it; otherwise the
// supervisor waits up to DefaultReadyTimeout. A command that is not ready in
// time is not an error: check RestartResult.Ready. A command that cannot be
// started is an error, and the supervisor then keeps running with no command
// until the next restart request. A command that exits before it is ready is
// an error too, and the supervisor exits with the command's exit code.
func (c *Client) Restart(ctx context.Context) (RestartResult, error) {
	query := url.Values{}
	if deadline, ok := ctx.Deadline(); ok {
		timeout := time.Until(deadline) - readyTimeoutMargin
		if timeout <= 0 {
			timeout = time.Millisecond
		}
		query.Set("timeout", timeout.String())
	}
	var res RestartResult
	err := c.do(ctx, http.MethodPost, "/restart", query, &res)
	return res, err
}

// Status returns the state of the supervised command.
func (c *Client) Status(ctx context.Context) (StatusResult, error) {
	var res StatusResult
	err := c.do(ctx, http.MethodGet, "/status", nil, &res)
	return res, err
}

// Signal sends the signal name ("SIGHUP", "HUP" or "1") to the command's
// process group.
func (c *Client) Signal(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, "/signal", url.Values{"name": {name}}, nil)
}

// do sends one request and decodes a 200 response into out, or turns any
// other response into an error carrying the supervisor's message.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, out any) error {
	op := strings.TrimPrefix(path, "/")
	u := url.URL{Scheme: "http", Host: "devd-supervisor", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return fmt.Errorf("building %s request: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("asking the supervisor at %s to %s: %w", c.socket, op, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var e errorResponse
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return fmt.Errorf("asking the supervisor at %s to %s: %s: %s", c.socket, op, resp.Status, msg)
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the supervisor's %s response: %w", op, err)
	}
	return nil
}
