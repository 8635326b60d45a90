package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// mailerService is a third service, a copy of notification synced from
// ./mailer, that no checkout touches.
func mailerService(project string) string {
	return `  mailer:
    build:
      context: ./mailer
      args:
        NODE_IMAGE: ${DEVD_NODE_IMAGE:-node:20-bookworm-slim}
    container_name: ` + project + `-mailer
    init: true
    command: node server.js
    environment:
      SERVICE_NAME: mailer
      PORT: "4000"
    networks:
      - backend
    develop:
      watch:
        - action: sync+restart
          path: ./mailer
          target: /usr/src/app
          ignore:
            - node_modules/
`
}

// Sizes of the branch that the checkout test switches to, per service:
// files changed, added (in new folders) and removed.
const (
	checkoutChanged = 120
	checkoutAdded   = 100
	checkoutRemoved = 30
)

// makeCheckoutRepo makes the stack folder a git repository on branch main
// and adds a branch "big" that changes about 250 files in each of
// notification and api, and nothing in mailer.
func makeCheckoutRepo(t *testing.T, dir string) {
	t.Helper()
	copyTree(t, filepath.Join(dir, "notification"), filepath.Join(dir, "mailer"))
	writeFile(t, filepath.Join(dir, "mailer", "message.js"), messageModule("hello from mailer"))
	for _, svc := range []string{"notification", "api"} {
		for i := 0; i < checkoutChanged; i++ {
			writeFile(t, filepath.Join(dir, svc, "gen", fmt.Sprintf("d%02d", i/10), fmt.Sprintf("f%03d.js", i)), fmt.Sprintf("module.exports = 'base %d';\n", i))
		}
		for i := 0; i < checkoutRemoved; i++ {
			writeFile(t, filepath.Join(dir, svc, "old", fmt.Sprintf("o%02d", i/10), fmt.Sprintf("r%03d.js", i)), fmt.Sprintf("module.exports = 'old %d';\n", i))
		}
	}
	gitIn(t, dir, "init", "-q", "-b", "main")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "base")

	gitIn(t, dir, "checkout", "-q", "-b", "big")
	for _, svc := range []string{"notification", "api"} {
		for i := 0; i < checkoutChanged; i++ {
			writeFile(t, filepath.Join(dir, svc, "gen", fmt.Sprintf("d%02d", i/10), fmt.Sprintf("f%03d.js", i)), fmt.Sprintf("module.exports = 'big %d';\n", i))
		}
		for i := 0; i < checkoutAdded; i++ {
			writeFile(t, filepath.Join(dir, svc, "feature", fmt.Sprintf("n%02d", i/10), fmt.Sprintf("a%03d.js", i)), fmt.Sprintf("module.exports = 'new %d';\n", i))
		}
		if err := os.RemoveAll(filepath.Join(dir, svc, "old")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, svc, "message.js"), messageModule("big branch of "+svc))
	}
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "big")
	gitIn(t, dir, "checkout", "-q", "main")
}

func TestCheckoutRestartsEachServiceOnce(t *testing.T) {
	s := startStackSetup(t, stackSetup{services: mailerService, prepare: func(dir string) { makeCheckoutRepo(t, dir) }})
	d := startDevd(t, s)
	services := []string{"notification", "api", "mailer"}
	ids := map[string]string{}
	for _, svc := range services {
		ids[svc] = s.containerID(svc)
	}
	converge := func() {
		t.Helper()
		for _, svc := range []string{"notification", "mailer"} {
			waitConverged(t, filepath.Join(s.dir, svc), ids[svc], appDir, "node_modules")
		}
		for _, svc := range services {
			settle(t, d, svc)
		}
	}
	converge()

	// check runs a checkout and checks the restarts it caused.
	check := func(t *testing.T, maxRestarts int, checkout func()) {
		before := map[string]int{}
		for _, svc := range services {
			before[svc] = d.restartCount(svc)
		}
		since := time.Now()
		checkout()
		converge()
		for _, svc := range []string{"notification", "api"} {
			if n := d.restartCount(svc) - before[svc]; n < 1 || n > maxRestarts {
				t.Errorf("%s restarted %d times, want 1 to %d", svc, n, maxRestarts)
			}
		}
		t.Logf("restarts: notification %d, api %d", d.restartCount("notification")-before["notification"], d.restartCount("api")-before["api"])
		if n := d.restartCount("mailer") - before["mailer"]; n != 0 {
			t.Errorf("mailer, which the checkout does not touch, restarted %d times", n)
		}
		if n := countStarts(t, ids["mailer"], since); n != 0 {
			t.Errorf("mailer's container started %d times", n)
		}
	}

	t.Run("checkout and back at once", func(t *testing.T) {
		check(t, 3, func() {
			gitIn(t, s.dir, "checkout", "-q", "big")
			gitIn(t, s.dir, "checkout", "-q", "-")
		})
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "hello from notification" })
		waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) != "big branch of api" })
	})

	t.Run("checkout", func(t *testing.T) {
		check(t, 2, func() { gitIn(t, s.dir, "checkout", "-q", "big") })
		waitHTTP(t, s.notificationURL(), func(body string) bool { return message(body) == "big branch of notification" })
		waitHTTP(t, s.apiURL(), func(body string) bool { return message(body) == "big branch of api" })
		// The folder the checkout removed is gone from the container.
		if _, ok := containerHeaders(t, ids["notification"], appDir)["old"]; ok {
			t.Errorf("old/, removed by the checkout, is still in the container")
		}
	})

	noErrorLogs(t, d)
}
