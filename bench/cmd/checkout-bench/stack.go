package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// composeTimeout bounds one docker compose command (up builds images).
const composeTimeout = 10 * time.Minute

// Branches of the notification repository.
const (
	branchBase = "main"
	branchBig  = "big"
)

// baseMessage is what notification/message.js exports in the example, and
// on branchBase; bigMessage is its export on branchBig.
const (
	baseMessage = "hello from notification"
	bigMessage  = "checked out big"
)

// appDir is the folder of the notification service's files in its container.
const appDir = "/usr/src/app"

// overrideTemplate gives the copy of the stack its own container names and
// loopback ports. The images are built without a network: they need
// nothing from it.
const overrideTemplate = `services:
  api:
    build:
      network: none
    container_name: %[1]s-api
    ports: !override
      - "127.0.0.1:%[2]d:3000"
  notification:
    build:
      network: none
    container_name: %[1]s-notification
    ports: !override
      - "127.0.0.1:%[3]d:4000"
`

// stack is a copy of the example stack under a project name of its own,
// with the notification folder under git.
type stack struct {
	dir     string // the copy of examples/microservices
	project string
	port    int               // notification's published port
	env     []string          // environment of docker compose and the tools
	digests map[string]string // branch -> digest of the notification tree
	branch  string            // the branch checked out now
	files   *reader           // reads the container's synced folder
}

// newStack copies the example stack into dir, writes its override and
// makes the git repository with both branches. Nothing runs yet.
func newStack(ctx context.Context, root, dir string, o options) (*stack, error) {
	s := &stack{
		dir:     filepath.Join(dir, "microservices"),
		project: fmt.Sprintf("devdckb%d", time.Now().UnixNano()%1_000_000_000),
		digests: make(map[string]string),
		files:   newReader(o.read),
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		return nil, err
	}
	if err := copyTree(filepath.Join(root, "examples", "microservices"), s.dir); err != nil {
		return nil, err
	}
	override := fmt.Sprintf(overrideTemplate, s.project, apiPort, s.port)
	if err := os.WriteFile(filepath.Join(s.dir, "compose.override.yaml"), []byte(override), 0o644); err != nil {
		return nil, fmt.Errorf("writing the compose override: %w", err)
	}
	s.env = append(os.Environ(), "COMPOSE_PROJECT_NAME="+s.project, "DEVD_NODE_IMAGE="+o.nodeImage)

	if err := s.makeRepo(ctx, o); err != nil {
		return nil, err
	}
	return s, nil
}

// makeRepo makes the stack folder a repository whose branch big changes
// half of o.files existing files and adds the other half, in o.folders
// folders of notification, and changes message.js. It records the digest
// of notification's tree on each branch and leaves branchBase checked out.
func (s *stack) makeRepo(ctx context.Context, o options) error {
	notification := filepath.Join(s.dir, "notification")
	changed := o.files / 2
	added := o.files - changed
	changedFolders := max(1, o.folders/2)
	addedFolders := max(1, o.folders-changedFolders)
	write := func(rel, content string) error {
		p := filepath.Join(notification, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("creating the folder of %s: %w", rel, err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", rel, err)
		}
		return nil
	}
	changedFile := func(i int) string {
		return filepath.Join("gen", fmt.Sprintf("d%03d", i%changedFolders), fmt.Sprintf("f%05d.js", i))
	}

	for i := range changed {
		if err := write(changedFile(i), fmt.Sprintf("module.exports = 'base %d';\n", i)); err != nil {
			return err
		}
	}
	steps := [][]string{{"init", "-q", "-b", branchBase}, {"add", "-A"}, {"commit", "-q", "-m", "base"}, {"checkout", "-q", "-b", branchBig}}
	for _, args := range steps {
		if _, err := s.git(ctx, args...); err != nil {
			return err
		}
	}
	for i := range changed {
		if err := write(changedFile(i), fmt.Sprintf("module.exports = 'big %d';\n", i)); err != nil {
			return err
		}
	}
	for i := range added {
		rel := filepath.Join("feature", fmt.Sprintf("n%03d", i%addedFolders), fmt.Sprintf("a%05d.js", i))
		if err := write(rel, fmt.Sprintf("module.exports = 'added %d';\n", i)); err != nil {
			return err
		}
	}
	if err := write("message.js", fmt.Sprintf("module.exports = %q;\n", bigMessage)); err != nil {
		return err
	}
	for _, args := range [][]string{{"add", "-A"}, {"commit", "-q", "-m", "big"}} {
		if _, err := s.git(ctx, args...); err != nil {
			return err
		}
	}

	var err error
	if s.digests[branchBig], err = hostDigest(notification); err != nil {
		return err
	}
	if _, err := s.git(ctx, "checkout", "-q", branchBase); err != nil {
		return err
	}
	if s.digests[branchBase], err = hostDigest(notification); err != nil {
		return err
	}
	s.branch = branchBase
	return nil
}

// git runs git in the stack folder with a fixed identity.
func (s *stack) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@localhost",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@localhost", "GIT_CONFIG_NOSYSTEM=1", "HOME="+s.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("running git %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// compose runs docker compose in the stack folder.
func (s *stack) compose(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, composeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", append([]string{"compose"}, args...)...)
	cmd.Dir = s.dir
	cmd.Env = s.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("running docker compose %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// up builds the notification image and starts only that service.
func (s *stack) up(ctx context.Context) error {
	return s.compose(ctx, "up", "--detach", "--build", "--wait", "notification")
}

// down removes the stack's containers, networks and volumes. It runs on
// the way out, also after Ctrl-C, so it does not use the run's context.
func (s *stack) down() {
	ctx, cancel := context.WithTimeout(context.Background(), composeTimeout)
	defer cancel()
	if err := s.compose(ctx, "down", "--volumes", "--remove-orphans", "--timeout", "2"); err != nil {
		fmt.Fprintln(os.Stderr, "checkout-bench:", err)
	}
}

// containerID returns the id of notification's container.
func (s *stack) containerID(ctx context.Context) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", "compose", "ps", "--all", "--quiet", "notification")
	cmd.Dir = s.dir
	cmd.Env = s.env
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("listing notification's container: %w", err)
	}
	id, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if id == "" {
		return "", fmt.Errorf("listing notification's container: none exists")
	}
	return id, nil
}

// url is notification's address on the host.
func (s *stack) url() string { return fmt.Sprintf("http://127.0.0.1:%d/", s.port) }

// containerDigest returns the digest of the container's tree as hostDigest
// computes it, read through the Engine archive API (docker cp), which
// needs no tool in the image and works while the container is stopped, so
// a restart that follows a sync does not hide the synced files.
func containerDigest(ctx context.Context, id string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", "cp", id+":"+appDir, "-")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", fmt.Errorf("reading %s of %s: %w", appDir, id, err)
	}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("reading %s of %s: %w", appDir, id, err)
	}
	sum, readErr := tarDigest(stdout, path.Base(appDir))
	// Read to the end, so that docker cp can exit.
	_, _ = io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		return "", fmt.Errorf("reading %s of %s: %w: %s", appDir, id, err, strings.TrimSpace(stderr.String()))
	}
	if readErr != nil {
		return "", fmt.Errorf("reading %s of %s: %w", appDir, id, readErr)
	}
	return sum, nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// copyTree copies a folder's regular files and folders, leaving out
// node_modules, as a fresh checkout of the example looks.
func copyTree(from, to string) error {
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && info.Name() == "node_modules" {
			return filepath.SkipDir
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
		return fmt.Errorf("copying %s: %w", from, err)
	}
	return nil
}
