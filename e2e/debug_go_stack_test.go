package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/delve/delvetest"
)

// goCommand is the service command of the Go stack: the form devd supports
// for swapping binaries under Delve.
var goCommand = []string{"dlv", "exec", "/app/server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue"}

// goStackTemplate is the Compose file of a single Go service under dlv,
// built from delve/testdata/image. %[4]s holds extra keys for the service.
const goStackTemplate = `name: %[1]s
services:
  app:
    build:
      context: ./image
      args:
        BASE_IMAGE: %[5]s
    command: [%[6]s]
    ports:
      - "127.0.0.1:%[2]d:8080"
      - "127.0.0.1:%[3]d:2345"
%[4]s`

// goStack is a Compose project of its own with one Go service under dlv,
// published on free loopback ports.
type goStack struct {
	t       *testing.T
	dir     string
	project string
	appPort int
	dlvPort int
}

func (s *goStack) appURL() string  { return fmt.Sprintf("http://127.0.0.1:%d/", s.appPort) }
func (s *goStack) dlvAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.dlvPort) }

// newGoStack writes the project with the test program responding "v1" and
// extra keys for the service, indented for their place under `app:`. The
// project is removed, image included, when the test ends.
func newGoStack(t *testing.T, extra string) *goStack {
	t.Helper()
	requireEngine(t)
	dlv, err := delvetest.Dlv()
	if err != nil {
		t.Fatal(err)
	}

	s := &goStack{
		t:       t,
		dir:     t.TempDir(),
		project: fmt.Sprintf("devddlv%d", time.Now().UnixNano()%1_000_000_000),
		appPort: freePort(t),
		dlvPort: freePort(t),
	}
	image := filepath.Join(s.dir, "image")
	copyTree(t, delvetest.Testdata("image"), image)
	goCopyFile(t, dlv, filepath.Join(image, "dlv"))
	if err := delvetest.BuildApp(filepath.Join(image, "server"), "v1"); err != nil {
		t.Fatal(err)
	}
	quoted := make([]string, len(goCommand))
	for i, w := range goCommand {
		quoted[i] = fmt.Sprintf("%q", w)
	}
	writeFile(t, filepath.Join(s.dir, "compose.yaml"), fmt.Sprintf(goStackTemplate,
		s.project, s.appPort, s.dlvPort, extra, nodeImage, strings.Join(quoted, ", ")))

	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
		defer cancel()
		if out, err := s.composeCtx(ctx, "down", "--volumes", "--rmi", "local", "--timeout", "2"); err != nil {
			t.Logf("docker compose down: %v\n%s", err, out)
		}
		// By name, which only untags an image that other projects share.
		if out, err := exec.CommandContext(ctx, "docker", "image", "rm", s.project+"-app").CombinedOutput(); err != nil {
			t.Logf("removing the test image: %v\n%s", err, out)
		}
	})
	return s
}

// up builds and starts the project without waiting for the program.
func (s *goStack) up() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()
	if out, err := s.composeCtx(ctx, "up", "--detach", "--build"); err != nil {
		s.t.Fatalf("docker compose up: %v\n%s", err, out)
	}
}

func (s *goStack) composeCtx(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", append([]string{"compose", "-p", s.project}, args...)...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// container returns the id of the service's container.
func (s *goStack) container() string {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()
	out, err := s.composeCtx(ctx, "ps", "--all", "--quiet", "app")
	if err != nil || strings.TrimSpace(out) == "" {
		s.t.Fatalf("finding the app container: %v\n%s", err, out)
	}
	return strings.Fields(out)[0]
}

// docker runs a docker command and returns its combined output.
func (s *goStack) docker(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// install builds the test program responding with message and copies it
// over /app/server in the running container, as devd does after a host
// build.
func (s *goStack) install(message string) {
	s.t.Helper()
	bin := filepath.Join(s.dir, "server-"+message)
	if err := delvetest.BuildApp(bin, message); err != nil {
		s.t.Fatal(err)
	}
	s.docker("cp", bin, s.container()+":/app/server")
}

// goProcess is one entry of the container's /proc.
type goProcess struct {
	pid     string
	name    string
	state   string
	cmdline string
}

// goProcLine matches what processes prints per process: its stat line, a
// tab, and its command line with spaces between the arguments.
var goProcLine = regexp.MustCompile(`(?m)^(\d+) \((.*)\) (\S) [^\t]*\t(.*)$`)

// processes lists the container's processes from /proc, leaving out the
// commands that read it.
func (s *goStack) processes() []goProcess {
	s.t.Helper()
	script := `for p in /proc/[0-9]*; do ` +
		`printf '%s\t%s\n' "$(cat $p/stat)" "$(tr '\0' ' ' < $p/cmdline)"; done 2>/dev/null; true`
	out := s.docker("exec", s.container(), "sh", "-c", script)
	var ps []goProcess
	for _, m := range goProcLine.FindAllStringSubmatch(out, -1) {
		switch m[2] {
		case "sh", "cat", "tr":
			continue
		}
		ps = append(ps, goProcess{pid: m[1], name: m[2], state: m[3], cmdline: strings.TrimSpace(m[4])})
	}
	return ps
}

// checkProcesses fails the test unless the container runs exactly one dlv
// server and one program, none of them a zombie. Delve also starts a child
// for Go telemetry crash reports (`dlv ** telemetry **`), which lives as
// long as dlv and is allowed.
func (s *goStack) checkProcesses(when string) {
	s.t.Helper()
	ps := s.processes()
	count := map[string]int{}
	for _, p := range ps {
		kind := p.name
		if strings.Contains(p.cmdline, "** telemetry **") {
			kind = "telemetry"
		}
		count[kind]++
		if p.state == "Z" {
			s.t.Errorf("%s: zombie process %+v", when, p)
		}
	}
	if count["dlv"] != 1 || count["server"] != 1 || count["telemetry"] > 1 || len(ps) != 2+count["telemetry"] {
		s.t.Errorf("%s: processes %+v, want one dlv and one server", when, ps)
	}
}

// goWaitMessage waits until the program responds with message, polling
// often so that the returned time measures the wait.
func goWaitMessage(t *testing.T, url, want string) time.Duration {
	t.Helper()
	const poll = 5 * time.Millisecond
	start := time.Now()
	client := http.Client{Timeout: 2 * time.Second}
	for time.Since(start) < changeTimeout {
		resp, err := client.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if message(string(body)) == want {
				return time.Since(start)
			}
		}
		time.Sleep(poll)
	}
	t.Fatalf("timed out waiting for %s to answer %q", url, want)
	return 0
}

func goCopyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o755); err != nil {
		t.Fatal(err)
	}
}
