package control_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
)

func TestDashboardServesPage(t *testing.T) {
	srv := httptest.NewServer(control.NewDashboard(newBackend(), nil))
	defer srv.Close()

	for path, want := range map[string]string{
		"/":          `<script src="app.js" defer></script>`,
		"/app.js":    "new EventSource(",
		"/style.css": "#services",
	} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("GET %s: %d, body without %q", path, resp.StatusCode, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
}

func TestDashboardRejectsForeignHost(t *testing.T) {
	d := control.NewDashboard(newBackend(), nil)
	for host, want := range map[string]int{
		"127.0.0.1:7080":      200,
		"localhost:7080":      200,
		"[::1]:7080":          200,
		"127.0.0.1":           200,
		"attacker.test:7080":  403,
		"attacker.test":       403,
		"192.168.1.10:7080":   403,
		"localhost.evil:7080": 403,
	} {
		req := httptest.NewRequest("GET", "/api/status", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: %d %s, want %d", host, rec.Code, rec.Body, want)
		}
	}
}

func TestDashboardStateChangeGuard(t *testing.T) {
	b := newBackend()
	d := control.NewDashboard(b, nil)
	post := func(header map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/services/api/restart", nil)
		req.Host = "127.0.0.1:7080"
		for k, v := range header {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		d.ServeHTTP(rec, req)
		return rec
	}

	if rec := post(nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "X-Devd-Request") {
		t.Errorf("without the custom header: %d %s, want 403", rec.Code, rec.Body)
	}
	crossSite := map[string]string{"X-Devd-Request": "1", "Origin": "http://attacker.test", "Sec-Fetch-Site": "cross-site"}
	if rec := post(crossSite); rec.Code != 403 || !strings.Contains(rec.Body.String(), "cross-origin") {
		t.Errorf("from another site: %d %s, want 403", rec.Code, rec.Body)
	}
	if n := len(b.CallLog()); n != 0 {
		t.Fatalf("backend got %d calls from rejected requests", n)
	}

	sameOrigin := map[string]string{"X-Devd-Request": "1", "Origin": "http://127.0.0.1:7080", "Sec-Fetch-Site": "same-origin"}
	if rec := post(sameOrigin); rec.Code != 200 {
		t.Errorf("from the dashboard: %d %s, want 200", rec.Code, rec.Body)
	}
	if calls := b.CallLog(); len(calls) != 1 || calls[0].Method != "Restart" || calls[0].Service != "api" {
		t.Errorf("calls %v, want one restart of api", calls)
	}
}

func TestDashboardEventStream(t *testing.T) {
	b := newBackend()
	srv := httptest.NewServer(control.NewDashboard(b, nil))
	defer srv.Close()
	b.Events().Publish(event.Event{Type: event.SyncDone, Service: "api", Files: 3, Bytes: 2150, DurationMS: 12})

	req, err := http.NewRequestWithContext(testContext(t), "GET", srv.URL+"/api/events?history=1&output=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				return data
			}
		}
		t.Fatalf("stream ended: %v", lines.Err())
		return ""
	}

	if got := next(); !strings.Contains(got, `"type":"sync_done"`) || !strings.Contains(got, `"line":"api: synced 3 files (2.1 KB) in 12 ms"`) {
		t.Errorf("history event %s", got)
	}
	b.Events().Publish(event.Event{Type: event.Output, Service: "web", Text: "line one\nline two"})
	if got := next(); !strings.Contains(got, `"line":"web | line one\nline two"`) {
		t.Errorf("live event %s", got)
	}
}

func TestListenDashboard(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := control.ListenDashboard(addr)
		if err != nil {
			t.Errorf("%s: %v", addr, err)
			continue
		}
		ln.Close()
	}
	for _, addr := range []string{"0.0.0.0:0", ":0", "example.test:80", "127.0.0.1"} {
		if ln, err := control.ListenDashboard(addr); err == nil {
			ln.Close()
			t.Errorf("%s: accepted, want an error", addr)
		}
	}
}
