package supervisor

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestParseReady(t *testing.T) {
	cases := []struct {
		spec    string
		want    readyKind
		wantErr bool
	}{
		{spec: "", want: readyNone},
		{spec: "tcp:3000", want: readyTCP},
		{spec: "http://127.0.0.1:3000/health", want: readyHTTP},
		{spec: "log:listening on [0-9]+", want: readyLog},
		{spec: "tcp:0", wantErr: true},
		{spec: "tcp:http", wantErr: true},
		{spec: "http://", wantErr: true},
		{spec: "log:", wantErr: true},
		{spec: "log:(", wantErr: true},
		{spec: "https://127.0.0.1/", wantErr: true},
		{spec: "3000", wantErr: true},
	}
	for _, tc := range cases {
		got, err := parseReady(tc.spec)
		if tc.wantErr {
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("parseReady(%q) error %v, want ErrInvalidConfig", tc.spec, err)
			}
			continue
		}
		if err != nil || got.kind != tc.want {
			t.Errorf("parseReady(%q) = %+v, %v; want kind %d", tc.spec, got, err, tc.want)
		}
	}
}

func TestProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()

	check, _ := parseReady("tcp:" + strconv.Itoa(port))
	if check.probe(t.Context()) {
		t.Fatal("tcp probe passes with nothing listening")
	}

	status := http.StatusNotFound
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	port = srv.Listener.Addr().(*net.TCPAddr).Port

	check, _ = parseReady("tcp:" + strconv.Itoa(port))
	if !check.probe(t.Context()) {
		t.Fatal("tcp probe fails with a server listening")
	}
	check, _ = parseReady(srv.URL + "/health")
	if !check.probe(t.Context()) {
		t.Fatal("http probe fails on a 404, which proves the server serves")
	}
	status = http.StatusServiceUnavailable
	if check.probe(t.Context()) {
		t.Fatal("http probe passes on a 503")
	}
}

func TestPollerStopsAndReportsReady(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	check, _ := parseReady(srv.URL)
	p := startPoller(check, time.Millisecond)
	select {
	case <-p.ready:
	case <-time.After(10 * time.Second):
		t.Fatal("poller never reported ready")
	}
	p.stop()

	check, _ = parseReady("http://127.0.0.1:1/")
	p = startPoller(check, time.Millisecond)
	p.stop() // returns although the check never passes
	select {
	case <-p.ready:
		t.Fatal("ready reported for a port nobody serves")
	default:
	}
}
