package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Timeouts of the Compose commands that set the stack up and tear it down.
const (
	upTimeout   = 10 * time.Minute
	downTimeout = 2 * time.Minute
)

// exampleDir is the example stack inside the repository.
var exampleDir = filepath.Join("examples", "microservices")

// service is one service of the example stack that the benchmark edits.
type service struct {
	Name          string
	ContainerPort int // the port its HTTP server listens on in the container
}

// exampleServices are the services of the example stack, in the order they
// are measured.
var exampleServices = []service{
	{Name: "api", ContainerPort: 3000},
	{Name: "notification", ContainerPort: 4000},
}

// overrideTemplate gives the copy of the stack its own container names,
// image names and free loopback ports, and gives api a develop.watch
// restart trigger so that Compose watch restarts it as devd does. Arguments:
// the project name, then the api and notification host ports.
//
// The images are built without a network: they need nothing from it, and
// the build then does not depend on the engine's default bridge.
const overrideTemplate = `services:
  api:
    image: devd-bench/api:latest
    build:
      network: none
    container_name: %[1]s-api
    ports: !override
      - "127.0.0.1:%[2]d:3000"
    develop:
      watch:
        - action: restart
          path: ./api
          ignore:
            - node_modules/
  notification:
    image: devd-bench/notification:latest
    build:
      network: none
    container_name: %[1]s-notification
    ports: !override
      - "127.0.0.1:%[3]d:4000"
`

// stack is a copy of the example stack in a folder of its own, run under
// a project name of its own so that it never touches other containers.
type stack struct {
	Dir     string         // the copy of examples/microservices
	Project string         // the Compose project name
	Ports   map[string]int // host port of each service, by service name
	Env     []string       // environment of every command run on the stack
}

// newStack copies the example stack from repoRoot into parent and writes
// its override. When nodemonDir is not empty, it also writes the override
// that runs api under the nodemon installed there. Nothing runs yet.
func newStack(repoRoot, parent, nodeImage, nodemonDir string) (*stack, error) {
	s := &stack{
		Dir:     filepath.Join(parent, "microservices"),
		Project: fmt.Sprintf("devdbench%d", time.Now().UnixNano()%1_000_000_000),
		Ports:   map[string]int{},
	}
	if err := copyTree(filepath.Join(repoRoot, exampleDir), s.Dir); err != nil {
		return nil, fmt.Errorf("copying the example stack: %w", err)
	}
	for _, svc := range exampleServices {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s.Ports[svc.Name] = port
	}

	override := fmt.Sprintf(overrideTemplate, s.Project, s.Ports["api"], s.Ports["notification"])
	if err := os.WriteFile(filepath.Join(s.Dir, "compose.override.yaml"), []byte(override), 0o644); err != nil {
		return nil, fmt.Errorf("writing the compose override: %w", err)
	}
	if nodemonDir != "" {
		if err := os.WriteFile(filepath.Join(s.Dir, nodemonOverrideFile), []byte(nodemonOverride(nodemonDir)), 0o644); err != nil {
			return nil, fmt.Errorf("writing the nodemon override: %w", err)
		}
	}

	// COMPOSE_FILE, COMPOSE_PROFILES and the like from the caller's shell
	// would point Compose and devd at something else.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "COMPOSE_") && !strings.HasPrefix(kv, "DEVD_NODE_IMAGE=") {
			s.Env = append(s.Env, kv)
		}
	}
	s.Env = append(s.Env, "COMPOSE_PROJECT_NAME="+s.Project, "DEVD_NODE_IMAGE="+nodeImage)
	return s, nil
}

// URL returns the address of the service's HTTP server on the host.
func (s *stack) URL(svc string) string {
	return fmt.Sprintf("http://127.0.0.1:%d/", s.Ports[svc])
}

// MessageFile returns the host path of the file whose export the service
// sends as its message.
func (s *stack) MessageFile(svc string) string {
	return filepath.Join(s.Dir, svc, "message.js")
}

// Files returns the Compose files that a setup starts the stack with,
// relative to the stack's folder. setupByTool gets the files that Compose
// and devd find by default.
func (s *stack) Files(st setup) []string {
	files := []string{"compose.yaml", "compose.override.yaml"}
	if st == setupNodemon {
		files = append(files, nodemonOverrideFile)
	}
	return files
}

// Up builds the images and starts the services with the Compose files of
// st, waiting until they run.
func (s *stack) Up(ctx context.Context, st setup) error {
	ctx, cancel := context.WithTimeout(ctx, upTimeout)
	defer cancel()
	var args []string
	for _, f := range s.Files(st) {
		args = append(args, "-f", f)
	}
	args = append(args, "up", "--detach", "--build", "--wait")
	if out, err := s.compose(ctx, args...); err != nil {
		return fmt.Errorf("running docker compose up: %w\n%s", err, out)
	}
	return nil
}

// Down removes the stack's containers, networks and volumes, whichever
// setup started them. It does not take a context: it must also run after
// the benchmark was interrupted.
func (s *stack) Down() error {
	ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
	defer cancel()
	if out, err := s.compose(ctx, "down", "--volumes", "--remove-orphans", "--timeout", "2"); err != nil {
		return fmt.Errorf("running docker compose down: %w\n%s", err, out)
	}
	return nil
}

// RemoveRunDir removes the control folders that `devd up` created on the
// host for the stack's project: run/<project> under $XDG_RUNTIME_DIR/devd,
// or under /tmp/devd-<uid> when XDG_RUNTIME_DIR is not set, as devd's
// up.RunDir lays them out. The benchmark does not import package up, which
// needs most of devd to compile. It must be called after Down: the
// supervisors in the containers have their sockets there.
func (s *stack) RemoveRunDir() error {
	root := filepath.Join("/tmp", fmt.Sprintf("devd-%d", os.Getuid()))
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(xdg) {
		root = filepath.Join(xdg, "devd")
	}
	if err := os.RemoveAll(filepath.Join(root, "run", s.Project)); err != nil {
		return fmt.Errorf("removing devd's control folders: %w", err)
	}
	return nil
}

// Command returns a command that runs in the stack's folder with its
// environment.
func (s *stack) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = s.Dir
	cmd.Env = s.Env
	return cmd
}

func (s *stack) compose(ctx context.Context, args ...string) (string, error) {
	out, err := s.Command(ctx, "docker", append([]string{"compose"}, args...)...).CombinedOutput()
	return string(out), err
}

// copyTree copies the regular files and folders under src to dst, leaving
// out node_modules folders, which Docker recreates as mount points.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == "node_modules":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		default:
			return fmt.Errorf("copying %s: only files and folders are expected in the example stack", path)
		}
	})
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// findRepoRoot returns the closest folder, from the working folder up, that
// contains go.mod and the example stack.
func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		_, modErr := os.Stat(filepath.Join(dir, "go.mod"))
		_, exErr := os.Stat(filepath.Join(dir, exampleDir, "compose.yaml"))
		if modErr == nil && exErr == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the repository root: go.mod and " + exampleDir + " not found in the working folder or above it (run from the devd repository)")
		}
		dir = parent
	}
}

// nodeImage returns the Node.js base image of the example stack, as
// scripts/node-image.sh chooses it (it honours DEVD_NODE_IMAGE).
func nodeImage(ctx context.Context, repoRoot string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(repoRoot, "scripts", "node-image.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running scripts/node-image.sh: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	image := strings.TrimSpace(lines[len(lines)-1])
	if image == "" {
		return "", errors.New("running scripts/node-image.sh: image name missing from its output")
	}
	return image, nil
}

// buildDevd builds the devd binary into dir, without cgo as it is shipped.
func buildDevd(ctx context.Context, repoRoot, dir string) (string, error) {
	bin := filepath.Join(dir, "devd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/devd")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building devd: %w\n%s(leave devd out with -tools compose-watch,nodemon)", err, out)
	}
	return bin, nil
}
