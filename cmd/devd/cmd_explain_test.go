package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplainDescribesEveryAction(t *testing.T) {
	dir := project(t, `name: explainactions
services:
  web:
    image: scratch
    develop:
      watch:
        - action: rebuild
          path: ./app/package.json
        - action: sync+exec
          path: ./app/src
          target: /srv/src
          initial_sync: true
          exec:
            command: npm run build
            user: node
            working_dir: /srv
  quiet:
    image: scratch
    volumes:
      - ./quiet:/quiet
    x-devd:
      restart: none
  proc:
    image: scratch
    volumes:
      - ./proc:/srv/proc
    x-devd:
      restart: process
  hup:
    image: scratch
    volumes:
      - ./hup:/hup
    x-devd:
      restart: signal:SIGHUP
`)
	for _, name := range []string{"app/src/a.js", "app/package.json", "quiet/a.js", "proc/a.js", "hup/a.js"} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	code, out := runDevd(t, dir, "explain", "app/package.json", "app/src/a.js", "quiet/a.js", "proc/a.js", "hup/a.js")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, out)
	}
	for _, want := range []string{
		"builds the image with docker compose and recreates the service's containers",
		"synced to /srv/src/a.js",
		"initial_sync: devd brings /srv/src up to date with the host at start and when a container starts",
		"after the sync, runs `npm run build` as node in /srv in every container of the service",
		"does not restart the service (restart mode none)",
		"sends SIGHUP to the service's main process (restart mode signal:SIGHUP)",
		"restarts the service's process under devd up (restart mode process); plain devd restarts the container instead",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain output does not contain %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "restarts the service (restart mode none)") {
		t.Errorf("explain says that a service with restart mode none restarts:\n%s", out)
	}
}

func TestExplainNamesXDevdIgnore(t *testing.T) {
	dir := project(t, `name: explainxdevd
services:
  app:
    image: scratch
    volumes:
      - ./app:/app
    x-devd:
      ignore: ["*.log"]
`)
	code, out := runDevd(t, dir, "explain", "app/out.log")
	if code != exitOK {
		t.Fatalf("exit code %d, want 0; output:\n%s", code, out)
	}
	if want := `ignored: "*.log" (x-devd ignore)`; !strings.Contains(out, want) {
		t.Errorf("explain output does not contain %q:\n%s", want, out)
	}
}
