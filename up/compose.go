package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// UpOptions selects the Compose project the way the user selected it, for
// the `docker compose` commands that `devd up` runs.
type UpOptions struct {
	// Docker is the docker CLI to run; empty means "docker" on PATH.
	Docker string
	// Files are the user's Compose files, absolute, in order: all of them,
	// because passing the override with -f turns off Compose's default
	// file search (compose.Project.ComposeFiles).
	Files []string
	// ProjectName is the project name, passed with -p.
	ProjectName string
	// ProjectDir is the project folder, passed with --project-directory.
	ProjectDir string
	// Profiles are the --profile values.
	Profiles []string
	// EnvFiles are the --env-file values.
	EnvFiles []string
	// Services are the services to build and start; empty means all.
	Services []string
	// Override is the path of the file Override wrote, added after Files
	// for up and down; empty means none.
	Override string
	// NoBuild passes --no-build to up: images that are missing are an
	// error instead of being built.
	NoBuild bool
	// Env is the environment of the docker CLI; nil means devd's own.
	Env []string
	// Stdout and Stderr receive the docker CLI's output; nil discards it.
	Stdout, Stderr io.Writer
}

// Build runs `docker compose build` for the selected services, without the
// override, so that their images exist and can be inspected.
func Build(ctx context.Context, opts UpOptions) error {
	return runCompose(ctx, opts, false, "build", opts.Services...)
}

// Pull runs `docker compose pull` for the named services, without the
// override.
func Pull(ctx context.Context, opts UpOptions, services []string) error {
	return runCompose(ctx, opts, false, "pull", services...)
}

// Up runs `docker compose up --detach` for the selected services with the
// override, and returns once they are started. Build the images first with Build: the override
// was made from their configuration.
func Up(ctx context.Context, opts UpOptions) error {
	// No --wait: a service that crashes at start would make up fail and
	// devd stop, while devd's own crash handling reports it and retries.
	args := []string{"--detach"}
	if opts.NoBuild {
		args = append(args, "--no-build")
	}
	return runCompose(ctx, opts, true, "up", append(args, opts.Services...)...)
}

// Down runs `docker compose down` with the override: for the selected
// services, or the whole project when none is selected. Volumes are kept.
func Down(ctx context.Context, opts UpOptions) error {
	return runCompose(ctx, opts, true, "down", opts.Services...)
}

// composeArgs returns the docker CLI arguments for one compose subcommand.
func composeArgs(opts UpOptions, withOverride bool, sub string, args ...string) []string {
	cmd := []string{"compose"}
	if opts.ProjectName != "" {
		cmd = append(cmd, "--project-name", opts.ProjectName)
	}
	if opts.ProjectDir != "" {
		cmd = append(cmd, "--project-directory", opts.ProjectDir)
	}
	for _, f := range opts.Files {
		cmd = append(cmd, "--file", f)
	}
	if withOverride && opts.Override != "" {
		cmd = append(cmd, "--file", opts.Override)
	}
	for _, p := range opts.Profiles {
		cmd = append(cmd, "--profile", p)
	}
	for _, e := range opts.EnvFiles {
		cmd = append(cmd, "--env-file", e)
	}
	cmd = append(cmd, sub)
	return append(cmd, args...)
}

// runCompose runs one docker compose subcommand, its output going to the
// options' writers.
func runCompose(ctx context.Context, opts UpOptions, withOverride bool, sub string, args ...string) error {
	if len(opts.Files) == 0 {
		return fmt.Errorf("running docker compose %s: no Compose file", sub)
	}
	docker := opts.Docker
	if docker == "" {
		docker = "docker"
	}
	argv := composeArgs(opts, withOverride, sub, args...)
	cmd := exec.CommandContext(ctx, docker, argv...)
	cmd.Env = opts.Env
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Stdout, cmd.Stderr = orDiscard(opts.Stdout), orDiscard(opts.Stderr)

	err := cmd.Run()
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("running docker compose %s: %w", sub, ctxErr)
	}
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("running docker compose %s: the docker CLI %q was not found: install Docker, or put docker on PATH: %w", sub, docker, err)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("running docker compose %s: it exited with status %d (its output is above): %s %s", sub, exit.ExitCode(), docker, strings.Join(argv, " "))
	}
	return fmt.Errorf("running docker compose %s: %w", sub, err)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
