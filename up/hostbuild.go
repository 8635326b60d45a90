package up

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/devdtool/devd/compose"
)

// hostBuildWaitDelay bounds how long HostBuild waits for the command's
// output to close once the command has exited or been cancelled: a program
// it started in the background may keep the output open.
const hostBuildWaitDelay = 5 * time.Second

// HostBuild runs the service's `x-devd.build` command once, as devd runs it
// after a change: in Build.Dir, with Build.Env added to devd's own
// environment. The command's output goes to stdout and stderr; nil
// discards it. `devd up` calls it before `docker compose build`, because
// the service's image may copy the artifact the build writes.
//
// HostBuild returns nil at once for a service without a host build. It
// returns an error when the command cannot start, fails, or succeeds
// without writing Build.Output. It may be called from several goroutines,
// for different services.
func HostBuild(ctx context.Context, svc compose.Service, stdout, stderr io.Writer) error {
	b := svc.Build
	if b == nil {
		return nil
	}
	if len(b.Command) == 0 || b.Command[0] == "" {
		return fmt.Errorf("building service %q on the host: x-devd.build.command is empty", svc.Name)
	}
	op := fmt.Sprintf("building service %q on the host: `%s` in %s", svc.Name, CommandText(b.Command), b.Dir)

	cmd := exec.CommandContext(ctx, b.Command[0], b.Command[1:]...)
	cmd.Dir = b.Dir
	cmd.Env = append(os.Environ(), b.Env...)
	cmd.Stdout, cmd.Stderr = orDiscard(stdout), orDiscard(stderr)
	cmd.WaitDelay = hostBuildWaitDelay

	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case errors.Is(err, exec.ErrNotFound):
		return fmt.Errorf("%s: %q was not found: install it, or correct x-devd.build.command: %w", op, b.Command[0], err)
	case errors.As(err, &exit) && exit.Exited():
		return fmt.Errorf("%s: it exited with status %d (its output is above): fix the error, or correct x-devd.build", op, exit.ExitCode())
	default:
		return fmt.Errorf("%s: %w", op, err)
	}

	if _, err := os.Stat(b.Output); err != nil {
		return fmt.Errorf("%s: the command succeeded but did not write %s: make it write there, or correct x-devd.build.output: %w", op, b.Output, err)
	}
	return nil
}

// CommandText returns a host build's command as a person would type it:
// the script of `sh -c SCRIPT`, which is what a string in the Compose file
// becomes, or the words of a list joined by spaces.
func CommandText(argv []string) string {
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		return argv[2]
	}
	return strings.Join(argv, " ")
}
