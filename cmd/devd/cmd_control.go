package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/control"
	"github.com/hashicorp/go-hclog"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
)

// exitNotRunning is the exit code of a command that needs a running devd
// when none runs for the project, so scripts can start one.
const exitNotRunning = 4

// addControlCommands adds the commands that talk to a running devd through
// its control socket, and the completion command.
func addControlCommands(root *cobra.Command, opts *rootOptions, stdout, stderr io.Writer) {
	root.AddCommand(
		newStatusCommand(opts, stdout, stderr),
		newLogsCommand(opts, stdout, stderr),
		newEventsCommand(opts, stdout, stderr),
		newRestartCommand(opts, stdout, stderr),
		newSyncCommand(opts, stdout, stderr),
		newPauseCommand(opts, stdout, stderr),
		newResumeCommand(opts, stdout, stderr),
		newCompletionCommand(root, stdout),
	)
}

// dialProject loads the Compose project as devd does, to get its name, and
// connects to the devd that serves it.
func dialProject(ctx context.Context, opts *rootOptions, stderr io.Writer) (*control.Client, error) {
	log, err := newLogger(opts.logLevel, opts.logJSON, stderr)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	project, err := compose.Load(ctx, opts.composeOptions(nil), log.Named("compose"))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}

	c, err := control.Dial(project.Name)
	if errors.Is(err, control.ErrNotRunning) {
		return nil, &exitError{code: exitNotRunning, err: err}
	}
	if err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	return c, nil
}

// controlError gives an error of the control API its exit code: a request
// the server found invalid, such as an unknown service, is a usage error.
func controlError(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *control.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.StatusCode {
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
			return &exitError{code: exitUsage, err: err}
		}
	}
	return &exitError{code: exitFailure, err: err}
}

// interruptible returns a context that SIGINT and SIGTERM cancel, so a
// command that waits on devd ends cleanly on Ctrl-C.
func interruptible(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// useColor reports whether to colour what goes to w: only on a terminal,
// and never when NO_COLOR is set or TERM is dumb.
func useColor(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	return isatty.IsTerminal(f.Fd())
}

// completeServices completes service names from the Compose project, for
// commands that take services.
func completeServices(opts *rootOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		project, err := compose.Load(cmd.Context(), opts.composeOptions(nil), hclog.NewNullLogger())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []cobra.Completion
		for _, s := range project.Services {
			names = append(names, s.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// serviceArgs checks the number of SERVICE arguments and returns a usage
// error that names the command.
func serviceArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && (max < 0 || len(args) <= max) {
			return nil
		}
		var want string
		switch {
		case min == 1 && max == 1:
			want = "exactly one SERVICE"
		case min == 0 && max == 1:
			want = "at most one SERVICE"
		default:
			want = fmt.Sprintf("between %d and %d services", min, max)
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("'%s' takes %s, got %d arguments; see 'devd %s --help'", cmd.CommandPath(), want, len(args), cmd.Name())}
	}
}
