package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/devdtool/devd/engine"
	filesync "github.com/devdtool/devd/sync"
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

// Extract sends a tar stream built by sync.WriteTar to be extracted at "/"
// in the container, within the supervisor's sync roots (see sync.Extract).
func (c *Client) Extract(ctx context.Context, archive io.Reader) (filesync.ExtractStats, error) {
	var stats filesync.ExtractStats
	resp, err := c.send(ctx, http.MethodPost, "/files/extract", nil, archive)
	if err != nil {
		return stats, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		return stats, fmt.Errorf("reading the supervisor's extract response: %w", err)
	}
	return stats, nil
}

// StatPath describes a container path as the engine's stat does (see
// sync.StatLocal). A missing path gives an error wrapping
// engine.ErrNotFound.
func (c *Client) StatPath(ctx context.Context, p string) (engine.PathStat, error) {
	var st PathStat
	if err := c.do(ctx, http.MethodGet, "/files/stat", url.Values{"path": {p}}, &st); err != nil {
		return engine.PathStat{}, err
	}
	return engine.PathStat{Name: st.Name, Size: st.Size, Mode: fs.FileMode(st.Mode), LinkTarget: st.LinkTarget}, nil
}

// Archive returns a container path as a tar stream named from its base
// name, as the engine's archive API does (see sync.ArchiveLocal). The caller
// closes it. A missing path gives an error wrapping engine.ErrNotFound.
func (c *Client) Archive(ctx context.Context, p string) (io.ReadCloser, error) {
	resp, err := c.send(ctx, http.MethodGet, "/files/archive", url.Values{"path": {p}}, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Remove deletes paths strictly under root, one of the supervisor's sync
// roots, without following links out of it (see sync.RemoveAll).
func (c *Client) Remove(ctx context.Context, root string, paths []string) error {
	body, err := json.Marshal(removeRequest{Root: root, Paths: paths})
	if err != nil {
		return err
	}
	resp, err := c.send(ctx, http.MethodPost, "/files/remove", nil, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// do sends one request without a body and decodes a 200 response into out,
// or turns any other response into an error carrying the supervisor's
// message.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, out any) error {
	resp, err := c.send(ctx, method, path, query, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("reading the supervisor's %s response: %w", strings.TrimPrefix(path, "/"), err)
	}
	return nil
}

// send sends one request and returns a 200 response, whose body the caller
// closes. Any other response becomes an error carrying the supervisor's
// message. A 404 from the file API wraps engine.ErrNotFound, and a 507 (a
// full file system) wraps engine.ErrNoSpace.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body io.Reader) (*http.Response, error) {
	op := strings.TrimPrefix(path, "/")
	u := url.URL{Scheme: "http", Host: "devd-supervisor", Path: path, RawQuery: query.Encode()}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building %s request: %w", op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the supervisor at %s to %s: %w", c.socket, op, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var e errorResponse
	msg := strings.TrimSpace(string(data))
	if json.Unmarshal(data, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if resp.StatusCode == http.StatusNotFound && strings.HasPrefix(op, "files/") {
		return nil, fmt.Errorf("asking the supervisor at %s to %s: %s: %w", c.socket, op, msg, engine.ErrNotFound)
	}
	if resp.StatusCode == http.StatusInsufficientStorage {
		return nil, fmt.Errorf("asking the supervisor at %s to %s: %s: %w", c.socket, op, msg, engine.ErrNoSpace)
	}
	return nil, fmt.Errorf("asking the supervisor at %s to %s: %s: %s", c.socket, op, resp.Status, msg)
}
