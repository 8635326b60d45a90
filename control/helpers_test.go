package control_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/control/controltest"
)

// testTimeout bounds every wait in these tests.
const testTimeout = 10 * time.Second

// peerClientEnv names the socket that the test binary, started again as
// another user, sends one status request to (see TestMain).
const peerClientEnv = "DEVD_TEST_PEER_CLIENT_SOCKET"

func TestMain(m *testing.M) {
	if socket := os.Getenv(peerClientEnv); socket != "" {
		os.Exit(runPeerClient(socket))
	}
	os.Exit(m.Run())
}

// runPeerClient sends GET /v1/status on socket and prints the status code
// and body, or the error.
func runPeerClient(socket string) int {
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := c.Get("http://devd/v1/status")
	if err != nil {
		fmt.Println("request failed:", err)
		return 3
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	return 0
}

// runtimeDir points XDG_RUNTIME_DIR at a new short folder, so socket paths
// stay under the kernel's length limit, and returns it.
func runtimeDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "devd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	t.Setenv("XDG_RUNTIME_DIR", dir)
	return dir
}

// twoServices is the status of a project "shop" with an api and a web
// service.
func twoServices() control.Status {
	started := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return control.Status{
		Project: "shop",
		PID:     4242,
		Version: "v0.1.0",
		Started: started,
		Engine:  "unix:///var/run/docker.sock",
		Services: []control.ServiceStatus{
			{
				Name:         "api",
				Watched:      true,
				RestartMode:  "signal:SIGHUP",
				Containers:   []control.ContainerStatus{{Name: "shop-api-1", ID: "abc123", State: "running"}},
				LastSync:     &control.SyncStatus{Time: started.Add(time.Minute), Files: 3, Bytes: 2150, DurationMS: 12},
				LastRestart:  &control.RestartStatus{Time: started.Add(time.Minute), Reason: "src/routes.js changed", ReadyMS: 142},
				RestartCount: 4,
				Errors:       []string{},
				Debug:        []control.DebugStatus{{Port: 9229, Address: "127.0.0.1:9229", Runtime: "node", Connections: 1, Connected: true}},
			},
			{
				Name:        "web",
				Watched:     true,
				RestartMode: "container",
				Containers:  []control.ContainerStatus{{Name: "shop-web-1", ID: "def456", State: "exited"}},
			},
		},
	}
}

// serve starts a control server for b's project in a new runtime folder
// and returns a client for it. The server stops when the test ends.
func serve(t *testing.T, b control.Backend) *control.Client {
	t.Helper()
	runtimeDir(t)
	project := b.Status().Project

	ln, closeSocket, err := control.Listen(project)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(b, nil).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve returned %v after cancel, want nil", err)
		}
		closeSocket()
	})

	c, err := control.Dial(project)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// rawRequest sends a request on the project's socket and returns the
// status code and body.
func rawRequest(t *testing.T, project, method, path string) (int, string) {
	t.Helper()
	socket, err := control.SocketPath(project)
	if err != nil {
		t.Fatal(err)
	}
	c := http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	defer c.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, "http://devd"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func newBackend() *controltest.Backend {
	return controltest.New(twoServices())
}

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// apiError returns err as an *control.APIError, failing the test when it is
// not one.
func apiError(t *testing.T, err error) *control.APIError {
	t.Helper()
	var ae *control.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an *APIError", err, err)
	}
	return ae
}
