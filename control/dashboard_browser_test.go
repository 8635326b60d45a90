package control_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/control/controltest"
	"github.com/devdtool/devd/event"
)

// pageState is a JavaScript expression that sums up the page for failure
// messages.
const pageState = `JSON.stringify({
	services: [...document.querySelectorAll('#services [data-service]')].map((c) => c.innerText),
	log: [...document.querySelectorAll('#log .text')].map((e) => e.textContent),
	notice: document.querySelector('#notice').hidden ? '' : document.querySelector('#notice').innerText,
	connection: document.querySelector('#connection').textContent,
})`

func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	b := newBackend()
	b.Events().Publish(event.Event{Type: event.Started, Reason: "watching api, web"})
	srv := httptest.NewServer(control.NewDashboard(b, nil))
	// Cleanups run last-in first-out: the browser, which keeps an event
	// stream open, stops before the server waits for its requests.
	t.Cleanup(srv.Close)

	page := controltest.StartBrowser(t, srv.URL+"/")

	page.WaitFor(t, "both services are shown",
		`document.querySelectorAll('#services [data-service]').length === 2 &&
		 document.querySelector('[data-service="api"] .restart-count').textContent === '4' &&
		 document.querySelector('[data-service="web"] .state').textContent === 'exited'`, pageState)
	var text struct{ Project, Debug, Sync, Restart string }
	page.Eval(t, `({
		Project: document.querySelector('#project').textContent,
		Debug: document.querySelector('[data-service="api"] .debug').innerText,
		Sync: document.querySelector('[data-service="api"] .last-sync').textContent,
		Restart: document.querySelector('[data-service="api"] .last-restart').textContent,
	})`, &text)
	if text.Project != "shop" {
		t.Errorf("project %q, want shop", text.Project)
	}
	for _, c := range []struct{ field, got, want string }{
		{"debug", text.Debug, "127.0.0.1:9229"},
		{"debug", text.Debug, "debugger connected"},
		{"last sync", text.Sync, "3 files (2.1 KB) in 12 ms"},
		{"last restart", text.Restart, "src/routes.js changed · ready in 142 ms"},
	} {
		if !strings.Contains(c.got, c.want) {
			t.Errorf("%s shows %q, want %q in it", c.field, c.got, c.want)
		}
	}
	page.WaitFor(t, "the history is in the log",
		`[...document.querySelectorAll('#log .text')].some((e) => e.textContent === 'devd: started (watching api, web)')`, pageState)

	// A marker on window survives only while the page is not reloaded.
	page.Eval(t, `window.devdNotReloaded = true`, nil)
	st := twoServices()
	st.Services[0].RestartCount = 5
	st.Services[0].LastRestart.ReadyMS = 87
	b.SetStatus(st)
	b.Events().Publish(event.Event{Type: event.RestartReady, Service: "api", DurationMS: 87})
	page.WaitFor(t, "the new event and status are shown without a reload",
		`window.devdNotReloaded === true &&
		 [...document.querySelectorAll('#log .text')].some((e) => e.textContent === 'api: ready in 87 ms') &&
		 document.querySelector('[data-service="api"] .restart-count').textContent === '5'`, pageState)

	page.Click(t, `[data-service="api"] button[data-action="restart"]`)
	waitCall(t, b, controltest.Call{Method: "Restart", Service: "api"})

	page.Click(t, `[data-service="web"] button[data-action="pause"]`)
	waitCall(t, b, controltest.Call{Method: "Pause", Service: "web"})
	page.WaitFor(t, "web shows as paused",
		`document.querySelector('[data-service="web"] .paused').checkVisibility() &&
		 document.querySelector('[data-service="web"] button[data-action="resume"]').checkVisibility() &&
		 !document.querySelector('[data-service="web"] button[data-action="pause"]').checkVisibility() &&
		 !document.querySelector('[data-service="api"] .paused').checkVisibility()`, pageState)
}

// waitCall waits for the backend's next action call and checks it.
func waitCall(t *testing.T, b *controltest.Backend, want controltest.Call) {
	t.Helper()
	select {
	case got := <-b.Calls():
		if got != want {
			t.Errorf("backend call %v, want %v", got, want)
		}
	case <-time.After(testTimeout):
		t.Fatalf("backend got no call within %s, want %v", testTimeout, want)
	}
}
