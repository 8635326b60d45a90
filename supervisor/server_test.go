package supervisor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeController records the requests that the HTTP API passes on.
type fakeController struct {
	mu           sync.Mutex
	readyTimeout time.Duration // guarded by mu
	signals      []string      // guarded by mu
	restartErr   error
}

func (f *fakeController) restart(ctx context.Context, readyTimeout time.Duration) (RestartResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.readyTimeout = readyTimeout
	if f.restartErr != nil {
		return RestartResult{}, f.restartErr
	}
	return RestartResult{PID: 42, StopMS: 1, StartMS: 2, ReadyMS: 3, Ready: true}, nil
}

func (f *fakeController) status() StatusResult {
	return StatusResult{Service: "api", PID: 42, Running: true, Restarts: 7, LastExit: &ExitStatus{Code: 143, Signal: "SIGTERM"}}
}

func (f *fakeController) signal(ctx context.Context, name string) error {
	if name == "SIGNOPE" {
		return fmt.Errorf("%w: unknown signal %q", errBadRequest, name)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, name)
	return nil
}

// serveFake serves the API for f on a Unix socket and returns a client.
func serveFake(t *testing.T, f *fakeController) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: newHandler(f, nil)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return NewSocketClient(path)
}

func TestClientAndServer(t *testing.T) {
	f := &fakeController{}
	c := serveFake(t, f)

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := c.Restart(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, RestartResult{PID: 42, StopMS: 1, StartMS: 2, ReadyMS: 3, Ready: true}) {
		t.Fatalf("restart result %+v", res)
	}
	// The readiness wait ends before the caller's deadline.
	if f.readyTimeout <= 9*time.Second || f.readyTimeout >= 10*time.Second {
		t.Fatalf("ready timeout %s for a 10s deadline", f.readyTimeout)
	}

	st, err := c.Status(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if st.Service != "api" || st.Restarts != 7 || st.LastExit == nil || st.LastExit.Signal != "SIGTERM" {
		t.Fatalf("status %+v", st)
	}

	if err := c.Signal(t.Context(), "SIGHUP"); err != nil {
		t.Fatal(err)
	}
	if len(f.signals) != 1 || f.signals[0] != "SIGHUP" {
		t.Fatalf("signals %q", f.signals)
	}
	err = c.Signal(t.Context(), "SIGNOPE")
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), `unknown signal "SIGNOPE"`) {
		t.Fatalf("error %v, want a 400 with the supervisor's message", err)
	}
}

func TestClientReportsServerErrors(t *testing.T) {
	f := &fakeController{restartErr: errShuttingDown}
	c := serveFake(t, f)
	_, err := c.Restart(t.Context())
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), errShuttingDown.Error()) {
		t.Fatalf("error %v", err)
	}
	if f.readyTimeout != DefaultReadyTimeout {
		t.Fatalf("ready timeout %s without a deadline, want the default", f.readyTimeout)
	}

	missing := NewSocketClient(filepath.Join(t.TempDir(), "none.sock"))
	if _, err := missing.Status(t.Context()); err == nil || !strings.Contains(err.Error(), "none.sock") {
		t.Fatalf("error %v, want one naming the socket", err)
	}
}

func TestParseTimeout(t *testing.T) {
	cases := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "", want: DefaultReadyTimeout},
		{in: "5s", want: 5 * time.Second},
		{in: "2.5", want: 2500 * time.Millisecond},
		{in: "24h", want: maxReadyTimeout},
		{in: "0", wantErr: true},
		{in: "-1s", wantErr: true},
		{in: "soon", wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseTimeout(tc.in)
		if tc.wantErr {
			if !errors.Is(err, errBadRequest) {
				t.Errorf("parseTimeout(%q) error %v, want errBadRequest", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseTimeout(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
		}
	}
}

func TestExecArgs(t *testing.T) {
	got := strings.Join(ExecArgs("restart"), " ")
	if got != "/.devd/devd-supervisor supervise ctl restart" {
		t.Fatalf("ExecArgs = %q", got)
	}
}
