//go:build linux

package supervisor

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/engine/enginetest"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// nodeImageEnv names an image with node and a busybox shell; the default is
// the one scripts/node-image.sh builds from this machine's node.
const (
	nodeImageEnv     = "DEVD_NODE_IMAGE"
	defaultNodeImage = "devd-local/node:20"
)

// e2eGrace is the supervisor's grace period in the containers; the engine's
// own stop timeout is longer, so the supervisor's handling is what shows.
const (
	e2eGrace       = 2 * time.Second
	e2eStopTimeout = 10
)

// e2eEnv is what the end-to-end tests share: the engine, the image and a
// static devd built from this tree.
type e2eEnv struct {
	*enginetest.Env
	image string
	devd  string // host path of the static binary
	app   string // host folder holding server.js
}

func newE2E(t *testing.T) *e2eEnv {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test")
	}
	env := enginetest.New(t)
	image := os.Getenv(nodeImageEnv)
	if image == "" {
		image = defaultNodeImage
	}
	if _, err := env.API.ImageInspect(context.Background(), image); err != nil {
		msg := "image " + image + " is missing: build it with scripts/node-image.sh or set " + nodeImageEnv
		if os.Getenv(enginetest.E2EEnv) == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	app, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	return &e2eEnv{Env: env, image: image, devd: buildStaticDevd(t), app: app}
}

// buildStaticDevd builds the devd command of this tree the way it ships
// into containers: static, without cgo.
func buildStaticDevd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "devd")
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/devd")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building devd: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "supervise", "--help").CombinedOutput(); err != nil {
		t.Fatalf("devd has no working supervise command (is it registered in cmd/devd?): %v\n%s", err, out)
	}
	return bin
}

// controlDir returns a host control folder laid out as devd lays it out.
// It has mode 1777, so a container user of any uid can create its socket,
// and sits inside a folder of mode 0700 that only this user can enter.
func controlDir(t *testing.T) string {
	t.Helper()
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(private, "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// superviseOptions describes a container whose entrypoint is the supervisor.
type superviseOptions struct {
	name    string
	flags   []string // devd supervise flags
	command []string
	env     []string
	user    string
	init    bool
	ctlDir  string
}

// run creates and starts the container and returns its id. It is removed
// when the test ends; its logs are printed if the test failed.
func (e *e2eEnv) run(t *testing.T, o superviseOptions) string {
	t.Helper()
	entrypoint := append([]string{BinaryPath, "supervise"}, o.flags...)
	entrypoint = append(append(entrypoint, "--"), o.command...)

	binds := []string{e.devd + ":" + BinaryPath + ":ro", e.app + ":/app:ro"}
	if o.ctlDir != "" {
		binds = append(binds, o.ctlDir+":"+ControlDir)
	}

	name := e.Prefix + o.name
	ctx := context.Background()
	init := o.init
	created, err := e.API.ContainerCreate(ctx,
		&container.Config{Image: e.image, Entrypoint: entrypoint, Cmd: []string{}, Env: o.env, User: o.user},
		&container.HostConfig{Binds: binds, Init: &init, NetworkMode: "none"},
		nil, nil, name)
	if err != nil {
		t.Fatalf("creating container %s: %v", name, err)
	}

	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of %s:\n%s", name, e.logs(created.ID))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := e.API.ContainerRemove(ctx, created.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("removing container %s: %v", name, err)
		}
	})

	if err := e.API.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatalf("starting container %s: %v", name, err)
	}
	return created.ID
}

func (e *e2eEnv) logs(id string) string {
	rc, err := e.API.ContainerLogs(context.Background(), id, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	var out bytes.Buffer
	_, _ = stdcopy.StdCopy(&out, &out, rc)
	return out.String()
}

// stop stops the container as `docker stop` does and returns how long that
// took and the container's exit code.
func (e *e2eEnv) stop(t *testing.T, id string) (time.Duration, int) {
	t.Helper()
	timeout := e2eStopTimeout
	begin := time.Now()
	if err := e.API.ContainerStop(context.Background(), id, container.StopOptions{Timeout: &timeout}); err != nil {
		t.Fatalf("stopping container: %v", err)
	}
	took := time.Since(begin)
	return took, e.exitCode(t, id)
}

func (e *e2eEnv) exitCode(t *testing.T, id string) int {
	t.Helper()
	info, err := e.API.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Running {
		t.Fatal("the container is still running")
	}
	return info.State.ExitCode
}

// exec runs cmd in the container and returns its output; it fails the test
// unless cmd exits with 0.
func (e *e2eEnv) exec(t *testing.T, id string, cmd ...string) string {
	t.Helper()
	res, err := e.Engine.Exec(context.Background(), id, cmd, engine.ExecOptions{})
	if err != nil {
		t.Fatalf("exec %q: %v", cmd, err)
	}
	if res.ExitCode != 0 {
		t.Fatalf("exec %q exited with %d: %s", cmd, res.ExitCode, res.Output)
	}
	return string(res.Output)
}

// waitForSocket waits until the supervisor in container id responds on its
// socket in ctlDir, and returns a client for it.
func waitForSocket(t *testing.T, ctlDir, id string) *Client {
	t.Helper()
	client := NewSocketClient(filepath.Join(ctlDir, socketName(id, "")))
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(testTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := client.Status(ctx)
		cancel()
		if err == nil {
			return client
		}
		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatalf("the supervisor's socket never responded: %v", err)
		}
	}
}

func TestContainerRestartsThroughHostSocket(t *testing.T) {
	e := newE2E(t)
	ctlDir := controlDir(t)
	id := e.run(t, superviseOptions{
		name:    "api",
		flags:   []string{"--service", "api", "--port", "3000", "--ready", "tcp:3000", "--grace", e2eGrace.String()},
		command: []string{"node", "/app/server.js"},
		env:     []string{"PORT=3000", "EXIT_CODE=23"},
		user:    "1000:1000", // not the host user: the socket must still be reachable
		ctlDir:  ctlDir,
	})
	client := waitForSocket(t, ctlDir, id)

	const restarts = 20
	pids := map[int]bool{}
	for i := range restarts {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		res, err := client.Restart(ctx)
		cancel()
		if err != nil {
			t.Fatalf("restart %d: %v", i+1, err)
		}
		if !res.Ready || pids[res.PID] {
			t.Fatalf("restart %d: %+v", i+1, res)
		}
		pids[res.PID] = true
		t.Logf("restart %d: %+v", i+1, res)
	}

	// The process table in the container: one node, no zombie.
	var procs []proc
	for _, line := range strings.Split(e.exec(t, id, "sh", "-c", "cat /proc/[0-9]*/stat"), "\n") {
		if p, err := parseStat(line); err == nil {
			procs = append(procs, p)
		}
	}
	if n := countComm(procs, "node"); n != 1 {
		t.Errorf("%d node processes in the container after %d restarts, want 1: %+v", n, restarts, procs)
	}
	for _, p := range procs {
		if p.state == "Z" {
			t.Errorf("zombie in the container: %+v", p)
		}
	}

	// devd's fallback: the client inside the container, through docker exec.
	var st StatusResult
	if err := json.Unmarshal([]byte(e.exec(t, id, ExecArgs("status")...)), &st); err != nil {
		t.Fatalf("decoding ctl status: %v", err)
	}
	if st.Restarts != restarts || !st.Running || st.Service != "api" {
		t.Errorf("status through docker exec: %+v", st)
	}

	took, code := e.stop(t, id)
	if took >= e2eGrace {
		t.Errorf("docker stop took %s for an app that stops at once on SIGTERM", took)
	}
	if code != 23 {
		t.Errorf("the container exited with %d, want the app's 23", code)
	}
}

func TestContainerStopKillsAppIgnoringSIGTERM(t *testing.T) {
	e := newE2E(t)
	id := e.run(t, superviseOptions{
		name:    "stubborn",
		flags:   []string{"--grace", e2eGrace.String()},
		command: []string{"sh", "-c", `trap "" TERM; echo armed; while :; do sleep 1; done`},
		init:    true, // the supervisor as the child of the engine's init
	})
	waitForLog(t, e, id, "armed")

	took, code := e.stop(t, id)
	if took < e2eGrace || took >= e2eStopTimeout*time.Second {
		t.Errorf("docker stop took %s; want the supervisor's grace (%s), less than the engine's timeout", took, e2eGrace)
	}
	if code != 137 {
		t.Errorf("the container exited with %d, want 137 (SIGKILL)", code)
	}
}

func TestContainerExitsWithCrashedAppsCode(t *testing.T) {
	e := newE2E(t)
	id := e.run(t, superviseOptions{name: "crash", command: []string{"sh", "-c", "echo crashing; exit 5"}})

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	waited, errs := e.API.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case res := <-waited:
		if res.StatusCode != 5 {
			t.Fatalf("the container exited with %d, want the app's 5", res.StatusCode)
		}
	case err := <-errs:
		t.Fatalf("waiting for the container: %v", err)
	}
}

// waitForLog waits until the container's output holds substr.
func waitForLog(t *testing.T, e *e2eEnv, id, substr string) {
	t.Helper()
	ticker := time.NewTicker(20 * time.Millisecond)
	defer ticker.Stop()
	deadline := time.After(testTimeout)
	for !strings.Contains(e.logs(id), substr) {
		select {
		case <-ticker.C:
		case <-deadline:
			t.Fatalf("the container never printed %q", substr)
		}
	}
}
