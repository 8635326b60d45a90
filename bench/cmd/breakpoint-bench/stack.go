package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/devdtool/devd/delve/delvetest"
)

// The two services of the benchmark's stack and the files a save changes.
const (
	svcNode = "node"
	svcGo   = "go"

	nodeHandler = "node/handler.js"
	goHandler   = "go/src/handler.go"

	// breakMarker ends the line of each handler where the client sets its
	// breakpoint; the token the save changes is in scope there.
	breakMarker = "breakpoint line"
)

// composeTemplate is the stack: a Node.js service under the inspector and
// a Go service under a multi-client Delve server. Both get each save through
// a develop.watch sync+restart trigger. The Node.js service has it here,
// and devd follows it as Compose watch does. devd builds the Go program on
// the host (x-devd.build) and swaps it under Delve. For Compose watch the
// benchmark builds it into go/out, which peerOverride syncs into the
// container.
const composeTemplate = `name: %[1]s
services:
  node:
    build:
      context: ./node
      network: none
      args: {BASE_IMAGE: %[2]s}
    command: ["node", "--inspect=0.0.0.0:9229", "server.js"]
    ports: ["127.0.0.1:%[3]d:3000"]
    develop:
      watch:
        - action: sync+restart
          path: ./node
          target: /usr/src/app
  go:
    build:
      context: ./go
      network: none
      args: {BASE_IMAGE: %[2]s}
    command: ["dlv", "exec", "/app/server", "--headless", "--listen=:2345", "--api-version=2", "--accept-multiclient", "--continue"]
    ports: ["127.0.0.1:%[4]d:8080"]
    x-devd:
      build:
        command: CGO_ENABLED=0 GOOS=linux GOWORK=off go build -gcflags='all=-N -l' -o bin/server .
        workdir: ./go/src
        output: ./go/src/bin/server
        target: /app/server
`

// peerOverride sets up the stack for Compose watch: it publishes the debug
// ports for the debugger, which attaches without devd, and syncs the Go
// program that the benchmark builds on the host into the container. devd
// does not get it: it would mirror go/out, holding only what the latest
// build wrote, over /app.
const peerOverride = `services:
  node:
    ports: ["127.0.0.1:%d:9229"]
  go:
    ports: ["127.0.0.1:%d:2345"]
    develop:
      watch:
        - action: sync+restart
          path: ./go/out
          target: /app
`

const nodeDockerfile = `ARG BASE_IMAGE
FROM ${BASE_IMAGE}
WORKDIR /usr/src/app
COPY . .
`

const nodeServer = `'use strict';
const http = require('node:http');
const handle = require('./handler');
const server = http.createServer(handle).listen(3000, '0.0.0.0');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
setTimeout(() => {}, 0);
`

// nodeHandlerSource is handler.js with token; the breakpoint line keeps its
// number from one save to the next.
func nodeHandlerSource(token string) string {
	return `'use strict';
const token = ` + fmt.Sprintf("%q", token) + `;
module.exports = function handle(req, res) {
  const reply = JSON.stringify({ message: token }) + '\n'; // ` + breakMarker + `
  res.setHeader('Connection', 'close');
  res.end(reply);
};
`
}

const goDockerfile = `ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY dlv /usr/local/bin/dlv
COPY src/bin/server /app/server
`

const goMain = `package main

import (
	"log"
	"net/http"
)

func main() {
	http.HandleFunc("/", handle)
	log.Fatal(http.ListenAndServe(":8080", nil))
}
`

func goHandlerSource(token string) string {
	return `package main

import (
	"fmt"
	"net/http"
)

var token = ` + fmt.Sprintf("%q", token) + `

func handle(w http.ResponseWriter, r *http.Request) {
	reply := fmt.Sprintf("{\"message\":%q}\n", token) // ` + breakMarker + `
	w.Header().Set("Connection", "close")
	fmt.Fprint(w, reply)
}
`
}

// stack is the benchmark's Compose project in a folder of its own.
type stack struct {
	dir      string
	project  string
	image    string
	nodePort int // the Node service's HTTP port on loopback
	goPort   int
	nodeDbg  int // the inspector port that the peer's override publishes
	goDbg    int
}

func newStack(parent, image string) (*stack, error) {
	s := &stack{dir: filepath.Join(parent, "stack"), image: image,
		project: fmt.Sprintf("devdbpbench%d", time.Now().UnixNano()%1_000_000_000)}
	for _, p := range []*int{&s.nodePort, &s.goPort, &s.nodeDbg, &s.goDbg} {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		*p = port
	}
	dlv, err := delvetest.Dlv()
	if err != nil {
		return nil, err
	}
	dlvBin, err := os.ReadFile(dlv)
	if err != nil {
		return nil, err
	}
	files := map[string]string{
		"compose.yaml":      fmt.Sprintf(composeTemplate, s.project, image, s.nodePort, s.goPort),
		"compose.peer.yaml": fmt.Sprintf(peerOverride, s.nodeDbg, s.goDbg),
		"node/Dockerfile":   nodeDockerfile,
		"node/server.js":    nodeServer,
		nodeHandler:         nodeHandlerSource("start"),
		"go/Dockerfile":     goDockerfile,
		"go/src/go.mod":     "module bpapp\n\ngo 1.22\n",
		"go/src/main.go":    goMain,
		goHandler:           goHandlerSource("start"),
		"go/out/.keep":      "",
	}
	for name, body := range files {
		if err := writeFile(filepath.Join(s.dir, name), []byte(body), 0o644); err != nil {
			return nil, err
		}
	}
	if err := writeFile(filepath.Join(s.dir, "go", "dlv"), dlvBin, 0o755); err != nil {
		return nil, err
	}
	// The image copies the program that devd's build would write.
	if _, err := s.buildGo(context.Background(), filepath.Join(s.dir, "go", "src", "bin", "server")); err != nil {
		return nil, err
	}
	return s, nil
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, mode)
}

// buildGo builds the Go service for Delve into out, through a temporary
// name renamed over it, and returns how long the build took.
func (s *stack) buildGo(ctx context.Context, out string) (time.Duration, error) {
	start := time.Now()
	tmp := out + ".new"
	cmd := exec.CommandContext(ctx, "go", "build", "-gcflags=all=-N -l", "-o", tmp, ".")
	cmd.Dir = filepath.Join(s.dir, "go", "src")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("building the Go service: %w\n%s", err, b)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return 0, err
	}
	return time.Since(start), os.Rename(tmp, out)
}

// files are the Compose files for a tool: the peer's debugger needs the
// published debug ports.
func (s *stack) files(peer bool) []string {
	if peer {
		return []string{"-f", "compose.yaml", "-f", "compose.peer.yaml"}
	}
	return []string{"-f", "compose.yaml"}
}

func (s *stack) compose(ctx context.Context, peer bool, args ...string) error {
	cmd := exec.CommandContext(ctx, "docker", append(append([]string{"compose", "-p", s.project}, s.files(peer)...), args...)...)
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("docker compose %s: %w\n%s", strings.Join(args, " "), err, lastLines(out, 20))
	}
	return nil
}

// down removes the stack's containers, volumes and images.
func (s *stack) down() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return s.compose(ctx, true, "down", "--volumes", "--remove-orphans", "--rmi", "local", "--timeout", "2")
}

func (s *stack) url(svc string) string {
	if svc == svcNode {
		return fmt.Sprintf("http://127.0.0.1:%d/", s.nodePort)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/", s.goPort)
}

// breakLine returns the 1-based line of the breakpoint in a handler.
func breakLine(src string) (int, error) {
	for i, l := range strings.Split(src, "\n") {
		if strings.HasSuffix(l, breakMarker) {
			return i + 1, nil
		}
	}
	return 0, errors.New("no breakpoint line in the handler")
}

// atomicSave writes data as editors with "atomic save" do: a temporary
// file next to path, renamed over it.
func atomicSave(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".bench.tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
