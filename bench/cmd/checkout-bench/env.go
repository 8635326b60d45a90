package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// modulePath is the module whose checkout the benchmark runs from.
const modulePath = "github.com/devdtool/devd"

// repoRoot finds the repository root: the nearest folder at or above the
// working directory whose go.mod declares modulePath.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the working directory: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(strings.TrimSpace(string(data)), "module "+modulePath) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("finding the repository root: no go.mod of %s at or above the working directory; run from the repository", modulePath)
		}
		dir = parent
	}
}

// nodeImage runs scripts/node-image.sh, which prints the name of a Node.js
// base image on its last line, and returns that name.
func nodeImage(ctx context.Context, root string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "scripts", "node-image.sh"))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding a Node.js image with scripts/node-image.sh (or set DEVD_NODE_IMAGE): %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// buildDevd builds a static devd into dir.
func buildDevd(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "devd")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/devd")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building devd: %w\n%s", err, out)
	}
	return bin, nil
}

// machine describes where the figures were taken.
type machine struct {
	cpus       int
	loadBefore string
	loadAfter  string
	kernel     string
	engine     string
	compose    string
	commit     string
	digestRead time.Duration // median time of one read of the container's files
	readHow    string        // the method that read the container's files
}

func describeMachine(ctx context.Context, root string) machine {
	m := machine{
		cpus:       runtime.NumCPU(),
		loadBefore: loadAverage(),
		kernel:     firstLine(os.ReadFile("/proc/sys/kernel/osrelease")),
		engine:     output(ctx, "", "docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"),
		compose:    output(ctx, "", "docker", "compose", "version", "--short"),
		commit:     output(ctx, root, "git", "rev-parse", "--short", "HEAD"),
	}
	if dirty := output(ctx, root, "git", "status", "--porcelain", "--untracked-files=no"); dirty != "" && dirty != "unknown" {
		m.commit += " with uncommitted changes"
	}
	return m
}

// loadAverage returns the 1, 5 and 15 minute load averages.
func loadAverage() string {
	f := strings.Fields(firstLine(os.ReadFile("/proc/loadavg")))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func firstLine(data []byte, err error) string {
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
	return line
}

// output runs a command and returns its trimmed output, or "unknown".
func output(ctx context.Context, dir, name string, args ...string) string {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return string(bytes.TrimSpace(out))
}
