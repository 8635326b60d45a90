package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/devdtool/devd/event"
)

// ErrNotRunning is returned, wrapped, by Dial when no devd serves the
// project.
var ErrNotRunning = errors.New("no devd is running")

// dialTimeout bounds connecting to the control socket; the daemon is local,
// so a slow connect means it is stuck.
const dialTimeout = 5 * time.Second

// maxEventLine is the longest JSON line an event stream may send. Output
// events carry one line of a service's output, which may be long.
const maxEventLine = 4 << 20

// Client talks to the devd of one project over its control socket. It is
// safe for concurrent use. Close releases its idle connections.
type Client struct {
	socket string
	http   *http.Client
}

// APIError is an error response of the control API.
type APIError struct {
	// StatusCode is the HTTP status: 400 for a malformed request, 403 for
	// another user, 404 for an unknown service or endpoint, 500 when the
	// action failed.
	StatusCode int
	// Message is the server's error message.
	Message string
}

func (e *APIError) Error() string { return e.Message }

// Dial returns a client for the devd of a project. When there is no control
// socket, or no process listens on it, Dial returns an error that wraps
// ErrNotRunning and explains how to start devd.
func Dial(project string) (*Client, error) {
	dir, err := socketDir()
	if err != nil {
		return nil, err
	}
	path, err := socketFile(dir, project)
	if err != nil {
		return nil, err
	}

	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, notRunning(project, "no control socket at "+path)
	}
	if err := checkPrivateDir(dir); err != nil {
		return nil, err
	}

	conn, err := net.DialTimeout("unix", path, dialTimeout)
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, os.ErrNotExist) {
		return nil, notRunning(project, "stale control socket at "+path+" from a devd that stopped")
	}
	if err != nil {
		return nil, fmt.Errorf("connecting to devd at %s: %w", path, err)
	}
	conn.Close()
	return newClient(path), nil
}

func notRunning(project, detail string) error {
	return fmt.Errorf("%w for project %q (%s): start it with 'devd' in the project folder, "+
		"with the same -f and -p options as this command", ErrNotRunning, project, detail)
}

func newClient(socket string) *Client {
	var d net.Dialer
	d.Timeout = dialTimeout
	transport := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConns: 2,
	}
	return &Client{socket: socket, http: &http.Client{Transport: transport}}
}

// Socket returns the path of the control socket.
func (c *Client) Socket() string { return c.socket }

// Close releases the client's idle connections.
func (c *Client) Close() {
	c.http.CloseIdleConnections()
}

// Status returns the state of the project.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// Restart restarts a service, as a file change would, and returns the
// state once the restart is done.
func (c *Client) Restart(ctx context.Context, service string) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(service)+"/restart", nil, &st)
	return st, err
}

// Sync copies every file of the service's synced folders that differs from
// the container, and returns the state once done.
func (c *Client) Sync(ctx context.Context, service string) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodPost, "/v1/services/"+url.PathEscape(service)+"/sync", nil, &st)
	return st, err
}

// Pause stops applying changes to a service, or to every service when
// service is "".
func (c *Client) Pause(ctx context.Context, service string) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodPost, "/v1/pause", serviceQuery(service), &st)
	return st, err
}

// Resume applies the changes kept while paused and goes on, for a service
// or for every service when service is "".
func (c *Client) Resume(ctx context.Context, service string) (Status, error) {
	var st Status
	err := c.call(ctx, http.MethodPost, "/v1/resume", serviceQuery(service), &st)
	return st, err
}

func serviceQuery(service string) url.Values {
	if service == "" {
		return nil
	}
	return url.Values{"service": {service}}
}

// EventsOptions selects the events of a stream. The zero value streams
// nothing: set History, Follow or both.
type EventsOptions struct {
	// History starts the stream with the events devd kept.
	History bool
	// Follow goes on with new events until the context is cancelled or
	// devd stops.
	Follow bool
	// Output includes the services' output lines.
	Output bool
	// Services keeps only the events of these services and project-wide
	// events; empty means every service.
	Services []string
}

// Events opens a stream of devd's events. The caller must Close it.
func (c *Client) Events(ctx context.Context, opts EventsOptions) (*EventStream, error) {
	q := url.Values{
		"history": {boolParam(opts.History)},
		"follow":  {boolParam(opts.Follow)},
		"output":  {boolParam(opts.Output)},
	}
	if len(opts.Services) > 0 {
		q.Set("service", strings.Join(opts.Services, ","))
	}
	resp, err := c.do(ctx, http.MethodGet, "/v1/events", q)
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), maxEventLine)
	return &EventStream{body: resp.Body, lines: sc}, nil
}

func boolParam(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// EventStream is an open stream of events. It is not safe for concurrent
// use; Close may be called from another goroutine to end a blocked Next.
type EventStream struct {
	body  io.ReadCloser
	lines *bufio.Scanner
}

// Next returns the next event. It returns io.EOF when the stream ends:
// the history was sent and Follow was not set, or devd stopped.
func (s *EventStream) Next() (event.Event, error) {
	var e event.Event
	if !s.lines.Scan() {
		if err := s.lines.Err(); err != nil {
			return e, fmt.Errorf("reading events: %w", err)
		}
		return e, io.EOF
	}
	if err := json.Unmarshal(s.lines.Bytes(), &e); err != nil {
		return e, fmt.Errorf("decoding event %q: %w", s.lines.Text(), err)
	}
	return e, nil
}

// Close ends the stream.
func (s *EventStream) Close() error {
	return s.body.Close()
}

// call sends a request and decodes the JSON response into out.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, out any) error {
	resp, err := c.do(ctx, method, path, q)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding the response of %s %s: %w", method, path, err)
	}
	return nil
}

// do sends a request and returns the response when its status is 2xx, or
// an *APIError.
func (c *Client) do(ctx context.Context, method, path string, q url.Values) (*http.Response, error) {
	u := "http://devd" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building request %s %s: %w", method, path, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("calling devd at %s: %w", c.socket, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()

	var body errorBody
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := json.Unmarshal(data, &body); err != nil || body.Error == "" {
		body.Error = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	return nil, &APIError{StatusCode: resp.StatusCode, Message: body.Error}
}
