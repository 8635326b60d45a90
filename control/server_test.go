package control_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/control/controltest"
	"github.com/devdtool/devd/event"
)

func TestStatusEndpoint(t *testing.T) {
	b := newBackend()
	c := serve(t, b)

	st, err := c.Status(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Project != "shop" || st.PID != 4242 {
		t.Errorf("project %q pid %d, want shop 4242", st.Project, st.PID)
	}
	if len(st.Services) != 2 || st.Services[0].Name != "api" || st.Services[1].Name != "web" {
		t.Fatalf("services %+v, want api and web", st.Services)
	}
	if got := st.Services[0].LastSync; got == nil || got.Files != 3 || got.Bytes != 2150 {
		t.Errorf("api last sync %+v, want 3 files, 2150 bytes", got)
	}

	code, body := rawRequest(t, "shop", "GET", "/v1/status")
	if code != 200 {
		t.Fatalf("GET /v1/status: %d %s", code, body)
	}
	for _, key := range []string{`"services":[`, `"name":"web"`, `"restart_count":4`, `"restart_mode":"signal:SIGHUP"`, `"last_sync":{`, `"ready_ms":142`} {
		if !strings.Contains(body, key) {
			t.Errorf("status JSON has no %s: %s", key, body)
		}
	}
	// Nil lists of the backend are sent as empty arrays.
	if !strings.Contains(body, `"errors":[]`) || strings.Contains(body, "null") {
		t.Errorf("status JSON has null lists: %s", body)
	}
}

func TestStatusFillsPID(t *testing.T) {
	st := twoServices()
	st.PID = 0
	c := serve(t, controltest.New(st))

	got, err := c.Status(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	if got.PID <= 0 {
		t.Errorf("pid %d, want this process's pid", got.PID)
	}
}

// collect reads a stream until it ends.
func collect(t *testing.T, s *control.EventStream) []event.Event {
	t.Helper()
	var out []event.Event
	for {
		e, err := s.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
}

func texts(events []event.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, control.Describe(e))
	}
	return out
}

func TestEventsHistoryThenLive(t *testing.T) {
	b := newBackend()
	c := serve(t, b)
	bus := b.Events()
	bus.Publish(event.Event{Type: event.SyncDone, Service: "api", Files: 1, Bytes: 10, DurationMS: 5})
	bus.Publish(event.Event{Type: event.Output, Service: "api", Text: "listening on 3000"})

	s, err := c.Events(testContext(t), control.EventsOptions{History: true, Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	first, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	if first.Type != event.SyncDone || first.Files != 1 {
		t.Errorf("first event %+v, want the sync from the history", first)
	}

	// The output line of the history is left out, so the next event is
	// the live one.
	bus.Publish(event.Event{Type: event.RestartStarted, Service: "api", Reason: "src/a.js changed"})
	live, err := s.Next()
	if err != nil {
		t.Fatal(err)
	}
	if live.Type != event.RestartStarted || live.Reason != "src/a.js changed" {
		t.Errorf("live event %+v, want the restart", live)
	}
}

func TestEventsFilters(t *testing.T) {
	b := newBackend()
	c := serve(t, b)
	bus := b.Events()
	bus.Publish(event.Event{Type: event.Started})
	bus.Publish(event.Event{Type: event.RestartStarted, Service: "api"})
	bus.Publish(event.Event{Type: event.RestartStarted, Service: "web"})
	bus.Publish(event.Event{Type: event.Output, Service: "api", Text: "api says hi"})
	bus.Publish(event.Event{Type: event.Output, Service: "web", Text: "web says hi"})

	cases := []struct {
		name string
		opts control.EventsOptions
		want []string
	}{
		{
			name: "everything",
			opts: control.EventsOptions{History: true, Output: true},
			want: []string{"devd: started", "api: restarting", "web: restarting", "api | api says hi", "web | web says hi"},
		},
		{
			name: "without output",
			opts: control.EventsOptions{History: true},
			want: []string{"devd: started", "api: restarting", "web: restarting"},
		},
		{
			name: "one service keeps project-wide events",
			opts: control.EventsOptions{History: true, Output: true, Services: []string{"api"}},
			want: []string{"devd: started", "api: restarting", "api | api says hi"},
		},
		{
			name: "no history and no follow",
			opts: control.EventsOptions{},
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := c.Events(testContext(t), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			got := texts(collect(t, s))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestEventsStreamEndsAtShutdown(t *testing.T) {
	runtimeDir(t)
	b := newBackend()
	ln, closeSocket, err := control.Listen("shop")
	if err != nil {
		t.Fatal(err)
	}
	defer closeSocket()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(b, nil).Serve(ctx, ln) }()

	c, err := control.Dial("shop")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := c.Events(testContext(t), control.EventsOptions{Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	cancel()
	if _, err := s.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("Next after shutdown: %v, want io.EOF", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("Serve did not return after cancel")
	}
}

func TestActions(t *testing.T) {
	b := newBackend()
	c := serve(t, b)
	ctx := testContext(t)

	if _, err := c.Restart(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Sync(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	st, err := c.Pause(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Services[0].Paused || !st.Services[1].Paused {
		t.Errorf("pause of every service returned %+v, want both paused", st.Services)
	}
	st, err = c.Resume(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if !st.Services[0].Paused || st.Services[1].Paused {
		t.Errorf("resume of web returned %+v, want only api paused", st.Services)
	}

	want := []controltest.Call{{Method: "Restart", Service: "api"}, {Method: "Sync", Service: "web"}, {Method: "Pause"}, {Method: "Resume", Service: "web"}}
	got := b.CallLog()
	if len(got) != len(want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d is %v, want %v", i, got[i], want[i])
		}
	}
}

func TestUnknownService(t *testing.T) {
	b := newBackend()
	c := serve(t, b)
	ctx := testContext(t)

	const want = `unknown service "x"; the project's services are api, web`
	calls := map[string]func() error{
		"restart": func() error { _, err := c.Restart(ctx, "x"); return err },
		"sync":    func() error { _, err := c.Sync(ctx, "x"); return err },
		"pause":   func() error { _, err := c.Pause(ctx, "x"); return err },
		"resume":  func() error { _, err := c.Resume(ctx, "x"); return err },
		"events": func() error {
			_, err := c.Events(ctx, control.EventsOptions{Follow: true, Services: []string{"api", "x"}})
			return err
		},
	}
	for name, call := range calls {
		ae := apiError(t, call())
		if ae.StatusCode != 404 || ae.Message != want {
			t.Errorf("%s: %d %q, want 404 %q", name, ae.StatusCode, ae.Message, want)
		}
	}
	if n := len(b.CallLog()); n != 0 {
		t.Errorf("backend got %d calls for an unknown service, want none", n)
	}

	code, body := rawRequest(t, "shop", "POST", "/v1/services/x/restart")
	if wantBody := `{"error":"unknown service \"x\"; the project's services are api, web"}`; code != 404 || body != wantBody {
		t.Errorf("raw response %d %s, want 404 %s", code, body, wantBody)
	}
}

func TestMalformedRequests(t *testing.T) {
	b := newBackend()
	serve(t, b)

	cases := []struct {
		method, path string
		code         int
		want         string
	}{
		{"GET", "/v1/events?history=maybe", 400, `invalid history=\"maybe\"`},
		{"GET", "/v1/events?colour=1", 400, `unknown query parameter \"colour\"`},
		{"GET", "/v1/events?output=1&output=0", 400, "given 2 times"},
		{"GET", "/v1/events?service=api,,web", 400, "empty name"},
		{"GET", "/v1/status?verbose=1", 400, "takes no query parameters"},
		{"POST", "/v1/pause?service=", 400, "empty service"},
		{"POST", "/v1/pause?service=api&service=web", 400, "given 2 times"},
		{"POST", "/v1/resume?who=api", 400, `unknown query parameter \"who\"`},
		{"POST", "/v1/status", 405, "use GET"},
		{"GET", "/v1/services/api/restart", 405, "use POST"},
		{"GET", "/v2/status", 404, "no endpoint GET /v2/status"},
	}
	for _, tc := range cases {
		code, body := rawRequest(t, "shop", tc.method, tc.path)
		if code != tc.code || !strings.HasPrefix(body, `{"error":"`) || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, code, body, tc.code, tc.want)
		}
	}
}

func TestBackendFailure(t *testing.T) {
	b := newBackend()
	c := serve(t, b)
	b.FailWith(errors.New("container shop-api-1 is not running"))

	_, err := c.Restart(testContext(t), "api")
	ae := apiError(t, err)
	if ae.StatusCode != 500 || ae.Message != "restarting api: container shop-api-1 is not running" {
		t.Errorf("got %d %q", ae.StatusCode, ae.Message)
	}
}

func TestServeRejectsNonUnixConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(newBackend(), nil).Serve(ctx, ln) }()
	defer func() {
		cancel()
		<-done
	}()

	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 403 || !strings.Contains(string(body), "not over a Unix socket") {
		t.Errorf("TCP request got %d %s, want 403", resp.StatusCode, body)
	}
}
