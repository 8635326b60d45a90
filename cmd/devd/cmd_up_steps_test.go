package main

import (
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// fakeLinuxEngine serves the two engine calls that devd up makes before
// its host builds, a ping and the engine information, on a Unix socket,
// and points DOCKER_HOST at it.
func fakeLinuxEngine(t *testing.T) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "engine.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/_ping", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("API-Version", "1.41")
		_, _ = w.Write([]byte("OK"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/info") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"OSType":"linux","Architecture":"x86_64","OperatingSystem":"Test Linux"}`))
	})
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("DOCKER_HOST", "unix://"+sock)
}

func TestUpShowsStepsWithoutInfoLog(t *testing.T) {
	fakeLinuxEngine(t)
	t.Setenv("DEVD_LOG_LEVEL", "")
	t.Setenv("COMPOSE_FILE", "")
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	// The host build fails, so devd up stops before it runs docker compose.
	dir := project(t, `name: upsteps
services:
  app:
    image: scratch
    volumes:
      - ./app:/app
    x-devd:
      build:
        command: exit 3
        output: ./app/bin/app
        target: /app/app
`)

	code, out := runDevd(t, dir, "up")
	if code != exitFailure {
		t.Fatalf("exit code = %d, want %d; output:\n%s", code, exitFailure, out)
	}
	if want := "app: building on the host: exit 3"; !strings.Contains(out, want) {
		t.Errorf("output does not show the step %q:\n%s", want, out)
	}
	if strings.Contains(out, "[INFO]") {
		t.Errorf("output has info log lines at the default level:\n%s", out)
	}
}
