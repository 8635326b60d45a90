package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/devdtool/devd/control/controltest"
)

// dashboardState is a JavaScript expression that sums up the dashboard for
// failure messages.
const dashboardState = `JSON.stringify({
	services: [...document.querySelectorAll('#services [data-service]')].map((c) => c.innerText),
	log: [...document.querySelectorAll('#log .text')].slice(-20).map((e) => e.textContent),
	connection: document.querySelector('#connection').textContent,
})`

// TestDashboardFollowsARealDevd loads the dashboard of a devd that runs a
// real stack in headless Chromium. The page must show both services,
// follow an edit without a reload, and restart a service from its button.
func TestDashboardFollowsARealDevd(t *testing.T) {
	requireEngine(t)
	// Chromium is not part of the end-to-end setup, so DEVD_E2E=1 does not
	// require it.
	if _, err := controltest.LookChromium(); err != nil {
		t.Skipf("skipping the dashboard's end-to-end test: %v", err)
	}
	s := startStack(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	d := startDevd(t, s, "--dashboard="+addr)
	settle(t, d, "api")
	settle(t, d, "notification")

	page := controltest.StartBrowser(t, "http://"+addr+"/")
	page.Timeout = changeTimeout

	page.WaitFor(t, "both services are shown",
		`document.querySelector('#services [data-service="api"]') !== null &&
		 document.querySelector('#services [data-service="notification"]') !== null &&
		 document.querySelector('#connection').textContent !== ''`, dashboardState)
	var project string
	page.Eval(t, `document.querySelector('#project').textContent`, &project)
	if project != s.project {
		t.Errorf("the dashboard shows project %q, want %q", project, s.project)
	}

	// An edit of notification's source is synced and restarts it, and the
	// page follows through its event stream. A marker on window survives
	// only while the page is not reloaded.
	before := serviceStatus(t, status(t, s), "notification").RestartCount
	page.WaitFor(t, "the restart count of notification is shown",
		fmt.Sprintf(`document.querySelector('[data-service="notification"] .restart-count').textContent === '%d'`, before), dashboardState)
	page.Eval(t, `window.devdNotReloaded = true`, nil)

	writeFile(t, filepath.Join(s.dir, "notification", "message.js"), messageModule("seen on the dashboard"))
	waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "seen on the dashboard" })
	page.WaitFor(t, "the sync and restart of notification are shown without a reload",
		fmt.Sprintf(`window.devdNotReloaded === true &&
		 [...document.querySelectorAll('#log .text')].some((e) => e.textContent.startsWith('notification: synced 1 file')) &&
		 [...document.querySelectorAll('#log .text')].some((e) => e.textContent.startsWith('notification: ready')) &&
		 Number(document.querySelector('[data-service="notification"] .restart-count').textContent) > %d`, before), dashboardState)
	settle(t, d, "notification")

	// The restart button of api restarts it, as devd status confirms.
	apiBefore := serviceStatus(t, status(t, s), "api").RestartCount
	page.Click(t, `[data-service="api"] button[data-action="restart"]`)
	waitFor(t, changeTimeout, "the restart count of api to go up", func() bool {
		return serviceStatus(t, status(t, s), "api").RestartCount > apiBefore
	})
	settle(t, d, "api")
	api := serviceStatus(t, status(t, s), "api")
	if api.RestartCount != apiBefore+1 {
		t.Errorf("api restart_count is %d after one click, want %d", api.RestartCount, apiBefore+1)
	}
	if api.LastRestart == nil || !strings.Contains(api.LastRestart.Reason, "requested") {
		t.Errorf("api last_restart = %+v, want a requested restart", api.LastRestart)
	}
	page.WaitFor(t, "the page shows the new restart count of api",
		fmt.Sprintf(`window.devdNotReloaded === true &&
		 document.querySelector('[data-service="api"] .restart-count').textContent === '%d'`, apiBefore+1), dashboardState)
}
