package up_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/up"
)

// Bounds of the end-to-end test's waits; not expectations of speed.
const (
	stackTimeout = 5 * time.Minute
	pollEvery    = 100 * time.Millisecond
)

// overrideTemplate gives the test stack its own container names and free
// host ports, and makes the api service start node without the inspector,
// so that devd up has to add it.
const overrideTemplate = `services:
  api:
    container_name: %[1]s-api
    command: node server.js
    ports: !override
      - "127.0.0.1:%[2]d:3000"
    x-devd:
      debug:
        - port: 9229
          runtime: node
  notification:
    container_name: %[1]s-notification
    ports: !override
      - "127.0.0.1:%[3]d:4000"
`

// TestUpEndToEnd runs `devd up --down-on-exit` on a copy of the example
// stack and checks that the api container runs node under devd's
// supervisor, with the inspector flag devd added, and still serves.
func TestUpEndToEnd(t *testing.T) {
	requireEngine(t)
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Dir(filepath.Dir(file))

	tmp := t.TempDir()
	devd := filepath.Join(tmp, "devd")
	build := exec.Command("go", "build", "-o", devd, "./cmd/devd")
	build.Dir = repo
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building devd: %v\n%s", err, out)
	}

	project := fmt.Sprintf("devdup%d", time.Now().UnixNano()%1_000_000_000)
	dir := filepath.Join(tmp, "microservices")
	copyTree(t, filepath.Join(repo, "examples", "microservices"), dir)
	apiPort, notPort := freePort(t), freePort(t)
	writeFile(t, filepath.Join(dir, "compose.override.yaml"), fmt.Sprintf(overrideTemplate, project, apiPort, notPort))

	nodeImage := os.Getenv("DEVD_NODE_IMAGE")
	if nodeImage == "" {
		nodeImage = "devd-local/node:20"
	}
	// The system creates the runtime folder for a login; here the test does.
	if err := os.Mkdir(filepath.Join(tmp, "runtime"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+project,
		"DEVD_NODE_IMAGE="+nodeImage,
		"XDG_CACHE_HOME="+filepath.Join(tmp, "cache"),
		"XDG_RUNTIME_DIR="+filepath.Join(tmp, "runtime"),
	)
	t.Cleanup(func() { removeProject(t, project) })

	var out lockedBuffer
	cmd := exec.Command(devd, "up", "--down-on-exit", "--log-json")
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = dir, env, &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting devd up: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if t.Failed() {
			t.Logf("devd up output:\n%s", out.String())
		}
	}()

	// devd must still be running once the stack is up.
	waitFor(t, exited, "the stack to start", func() (string, bool) {
		return "", strings.Contains(out.String(), `"@message":"stack started"`)
	})
	apiURL := fmt.Sprintf("http://127.0.0.1:%d/", apiPort)
	body := waitFor(t, exited, "the api to answer at "+apiURL, func() (string, bool) {
		b, err := httpGet(apiURL)
		return b, err == nil && strings.Contains(b, `"service"`)
	})
	t.Logf("api answered: %s", strings.TrimSpace(body))

	id := strings.TrimSpace(docker(t, "ps", "--quiet", "--filter", "label=com.docker.compose.project="+project, "--filter", "label=com.docker.compose.service=api"))
	if id == "" {
		t.Fatal("no running api container")
	}
	var inspect []struct {
		Path   string
		Args   []string
		Config struct{ Labels map[string]string }
	}
	if err := json.Unmarshal([]byte(docker(t, "inspect", id)), &inspect); err != nil || len(inspect) != 1 {
		t.Fatalf("decoding docker inspect: %v", err)
	}
	c := inspect[0]
	if c.Config.Labels[up.SupervisorLabel] != up.SupervisorLabelValue {
		t.Errorf("labels = %v, want %s=%s", c.Config.Labels, up.SupervisorLabel, up.SupervisorLabelValue)
	}
	if c.Path != "/.devd/devd-supervisor" || len(c.Args) < 3 || c.Args[0] != "supervise" {
		t.Errorf("container runs %s %q, want /.devd/devd-supervisor supervise ...", c.Path, c.Args)
	}
	sep := slices.Index(c.Args, "--")
	if want := []string{"node", "--inspect=0.0.0.0:9229", "server.js"}; sep < 0 || !slices.Equal(c.Args[sep+1:], want) {
		t.Errorf("supervised command = %q, want %q", c.Args, want)
	}

	// The container's processes, as ps lists them.
	top := docker(t, "top", id, "-eo", "pid,args")
	for _, want := range []string{"/.devd/devd-supervisor supervise --service api", "node --inspect=0.0.0.0:9229 server.js"} {
		if !strings.Contains(top, want) {
			t.Errorf("no process %q in the container:\n%s", want, top)
		}
	}

	override := filepath.Join(dir, up.StateDir, up.OverrideName)
	if _, err := os.Stat(override); err != nil {
		t.Errorf("override file: %v", err)
	}
	if data, err := os.ReadFile(filepath.Join(dir, up.StateDir, ".gitignore")); err != nil || !strings.Contains(string(data), "*") {
		t.Errorf(".devd/.gitignore = %q, %v", data, err)
	}

	checkEngineInfo(t, project)

	// --down-on-exit removes the containers when devd stops.
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("devd up exited with %v", err)
		}
	case <-time.After(stackTimeout):
		_ = cmd.Process.Kill()
		t.Fatal("devd up did not exit after SIGINT")
	}
	if left := strings.TrimSpace(docker(t, "ps", "--all", "--quiet", "--filter", "label=com.docker.compose.project="+project)); left != "" {
		t.Errorf("containers left after devd up --down-on-exit: %s", left)
	}
}

// checkEngineInfo checks the engine calls devd up relies on against the
// image the stack built.
func checkEngineInfo(t *testing.T, project string) {
	t.Helper()
	ctx := context.Background()
	ep, err := engine.ResolveEndpoint(os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := engine.Connect(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	info, err := eng.ServerInfo(ctx)
	if err != nil || info.OS != "linux" || info.Arch != runtime.GOARCH {
		t.Errorf("ServerInfo = %+v, %v; want linux/%s", info, err, runtime.GOARCH)
	}
	img, err := eng.ImageConfig(ctx, project+"-api")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(img.Cmd, []string{"node", "server.js"}) || !slices.Equal(img.ExposedPorts, []int{3000, 9229}) ||
		img.WorkingDir != "/usr/src/app" || img.OS != "linux" {
		t.Errorf("ImageConfig = %+v", img)
	}
	if _, err := eng.ImageConfig(ctx, project+"-no-such-image"); err == nil || !strings.Contains(err.Error(), engine.ErrNotFound.Error()) {
		t.Errorf("ImageConfig of a missing image = %v, want ErrNotFound", err)
	}
}

// requireEngine skips the test when no engine or compose plugin responds,
// and fails it instead when DEVD_E2E=1.
func requireEngine(t *testing.T) {
	t.Helper()
	reason := ""
	switch {
	case testing.Short():
		reason = "end-to-end tests do not run with -short"
	case exec.Command("docker", "version").Run() != nil:
		reason = "no Docker engine answers"
	case exec.Command("docker", "compose", "version").Run() != nil:
		reason = "the docker compose plugin is missing"
	}
	if reason == "" {
		return
	}
	if os.Getenv("DEVD_E2E") == "1" {
		t.Fatalf("DEVD_E2E=1 but the end-to-end test cannot run: %s", reason)
	}
	t.Skipf("skipping end-to-end test: %s (set DEVD_E2E=1 to make this a failure)", reason)
}

// removeProject removes whatever the test's project left behind.
func removeProject(t *testing.T, project string) {
	ids := strings.Fields(docker(t, "ps", "--all", "--quiet", "--filter", "label=com.docker.compose.project="+project))
	if len(ids) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "--force", "--volumes"}, ids...)...).Run()
	}
	_ = exec.Command("docker", "network", "rm", project+"_backend", project+"_default").Run()
	_ = exec.Command("docker", "volume", "rm", project+"_mysql-data").Run()
	_ = exec.Command("docker", "image", "rm", project+"-api", project+"-notification").Run()
}

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// waitFor polls cond until it holds, failing the test at the deadline or
// when devd exits first.
func waitFor(t *testing.T, exited <-chan error, what string, cond func() (string, bool)) string {
	t.Helper()
	deadline := time.Now().Add(stackTimeout)
	for {
		if v, ok := cond(); ok {
			return v
		}
		select {
		case err := <-exited:
			t.Fatalf("devd up exited (%v) before %s", err, what)
		case <-time.After(pollEvery):
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", stackTimeout, what)
		}
	}
}

func httpGet(url string) (string, error) {
	client := http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files and folders of a tree.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying %s: %v", from, err)
	}
}

// lockedBuffer is a bytes.Buffer that the process's output goroutines may
// write to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
