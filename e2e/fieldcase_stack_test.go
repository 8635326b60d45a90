package e2e

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stackSetup shapes a copy of the example stack before it comes up.
type stackSetup struct {
	// notification holds extra keys for the notification service in the
	// override file, indented for their place under `notification:`.
	notification string
	// services returns extra services for the override file, indented for
	// their place under `services:`; project is the stack's project name.
	services func(project string) string
	// prepare runs on the copy before docker compose up.
	prepare func(dir string)
}

// startStackSetup is startStackWith for changes beyond the api service:
// keys of the notification service, extra services and files written
// before the stack comes up.
func startStackSetup(t *testing.T, setup stackSetup) *stack {
	t.Helper()
	requireEngine(t)

	s := &stack{t: t, dir: filepath.Join(t.TempDir(), "microservices")}
	s.project = fmt.Sprintf("devdfc%d", time.Now().UnixNano()%1_000_000_000)
	s.apiPort = freePort(t)
	s.notPort = freePort(t)
	copyTree(t, filepath.Join(repoRoot, "examples", "microservices"), s.dir)

	override := fmt.Sprintf(overrideTemplate, s.project, s.apiPort, s.notPort) + setup.notification
	if setup.services != nil {
		override += setup.services(s.project)
	}
	writeFile(t, filepath.Join(s.dir, "compose.override.yaml"), override)
	if setup.prepare != nil {
		setup.prepare(s.dir)
	}

	s.env = append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+s.project,
		"DEVD_NODE_IMAGE="+nodeImage,
	)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
		defer cancel()
		out, err := s.composeCtx(ctx, "down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "2")
		if err != nil {
			t.Logf("docker compose down: %v\n%s", err, out)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()
	if out, err := s.composeCtx(ctx, "up", "--detach", "--build", "--wait"); err != nil {
		t.Fatalf("docker compose up: %v\n%s", err, out)
	}
	waitHTTP(t, s.apiURL(), func(string) bool { return true })
	waitHTTP(t, s.notificationURL(), func(string) bool { return true })
	return s
}

// containerHeaders returns the tar headers of a container folder, keyed by
// the path relative to it, as the Engine archive API gives them: owner,
// full mode bits (setuid and setgid included) and link targets.
func containerHeaders(t *testing.T, containerID, dir string) map[string]*tar.Header {
	t.Helper()
	cmd := exec.Command("docker", "cp", containerID+":"+dir, "-")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	headers := make(map[string]*tar.Header)
	base := path.Base(dir)
	tr := tar.NewReader(stdout)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			_ = cmd.Wait()
			t.Fatalf("reading the archive of %s: %v (%s)", dir, err, stderr.String())
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(strings.TrimSuffix(hdr.Name, "/"), base), "/")
		if rel == "" {
			rel = "."
		}
		headers[rel] = hdr
	}

	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker cp %s:%s: %v (%s)", containerID, dir, err, stderr.String())
	}
	return headers
}

// ownerOf formats a header's uid and gid as "uid:gid".
func ownerOf(h *tar.Header) string {
	return fmt.Sprintf("%d:%d", h.Uid, h.Gid)
}

// levelLogs returns devd's log entries of a level ("error", "warn").
func (d *devdProcess) levelLogs(level string) []map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []map[string]any
	for _, l := range d.lines {
		if l["@level"] == level {
			out = append(out, l)
		}
	}
	return out
}

// restartCount counts devd's "restarting" log entries of a service.
func (d *devdProcess) restartCount(service string) int {
	return d.countLogs("restarting", map[string]string{"service": service})
}

// gitIn runs git in dir with a fixed identity.
func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=devd", "GIT_AUTHOR_EMAIL=devd@localhost",
		"GIT_COMMITTER_NAME=devd", "GIT_COMMITTER_EMAIL=devd@localhost", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// dockerCLI runs the docker CLI and fails the test when it fails.
func dockerCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// within polls cond until it holds or the timeout passes, and reports
// whether it held.
func within(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
	return true
}

// noErrorLogs fails the test for every error entry in devd's log.
func noErrorLogs(t *testing.T, d *devdProcess) {
	t.Helper()
	for _, l := range d.levelLogs("error") {
		t.Errorf("devd logged an error: %v", l)
	}
}
