package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/devdtool/devd/supervisor"
	filesync "github.com/devdtool/devd/sync"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

// ctlTimeout bounds a `devd supervise ctl` request by default: the
// supervisor's readiness wait plus room for the stop.
const ctlTimeout = supervisor.DefaultReadyTimeout + 15*time.Second

// newSuperviseCommand returns `devd supervise`, the process supervisor that
// runs as a container's entrypoint, and its client `devd supervise ctl`.
func newSuperviseCommand(stdout, stderr io.Writer) *cobra.Command {
	cfg := supervisor.Config{}
	cmd := &cobra.Command{
		Use:   "supervise [flags] -- COMMAND [ARG...]",
		Short: "Run a command as a container's entrypoint, restartable by devd",
		Long: `supervise runs COMMAND in a process group of its own, forwards signals to it,
reaps zombies, and restarts it on devd's request, which is much faster than
restarting the container. 'devd up' sets it up as the entrypoint of the
services it supervises; it runs only in Linux containers.

It exits with the command's exit code (128 plus the signal number when a
signal ended it), so the service's restart policy still applies. On SIGTERM
or SIGINT it passes the signal on, waits up to --grace, then kills the
command's process group.`,
		Args:          cobra.MinimumNArgs(1),
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cfg.Grace <= 0 {
				return &exitError{code: exitUsage, err: fmt.Errorf("--grace %s must be positive", cfg.Grace)}
			}
			log, err := commandLogger(cmd, stderr)
			if err != nil {
				return &exitError{code: exitUsage, err: err}
			}
			cfg.Argv = args
			cfg.Logger = log.Named("supervisor")
			code, err := supervisor.Run(cmd.Context(), cfg)
			if err != nil {
				return &exitError{code: code, err: err}
			}
			if code != 0 {
				return &exitError{code: code, err: fmt.Errorf("%s exited with code %d", args[0], code)}
			}
			return nil
		},
	}
	// Flags after COMMAND belong to COMMAND.
	cmd.Flags().SetInterspersed(false)

	flags := cmd.Flags()
	flags.StringVar(&cfg.Service, "service", "", "service name for messages (default: the command's name)")
	flags.StringVar(&cfg.StopSignal, "stop-signal", supervisor.DefaultStopSignal, "signal that requests a graceful stop of the command before a restart")
	flags.DurationVar(&cfg.Grace, "grace", supervisor.DefaultGrace, "time the command gets to stop before it is killed (must be positive)")
	flags.IntSliceVar(&cfg.Ports, "port", nil, "TCP port that must be free before the command starts again (repeatable)")
	flags.StringVar(&cfg.ControlDir, "control-dir", supervisor.ControlDir, "folder, mounted from the host, for the control socket")
	flags.StringVar(&cfg.Ready, "ready", "", "readiness check after a restart: tcp:PORT, http://127.0.0.1:PORT/path or log:REGEXP")
	flags.StringArrayVar(&cfg.SyncRoots, "sync-root", nil, "container folder or file that devd syncs; devd then copies and deletes files there through the control socket (repeatable)")

	cmd.AddCommand(newSuperviseCtlCommand(stdout))
	cmd.AddCommand(newSuperviseRmCommand())
	return cmd
}

// newSuperviseRmCommand returns `devd supervise rm`, which devd runs through
// docker exec to delete synced files in images that have no rm.
func newSuperviseRmCommand() *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:    "rm --root ROOT -- PATH...",
		Short:  "Delete paths under ROOT in the container (used by devd in images without rm)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if root == "" {
				return &exitError{code: exitUsage, err: fmt.Errorf("--root is required: the synced folder the paths must lie in")}
			}
			if err := filesync.RemoveAll(root, args); err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "folder that every path must lie in")
	return cmd
}

// newSuperviseCtlCommand returns `devd supervise ctl`, which talks to the
// supervisor of the container it runs in, for `docker exec`.
func newSuperviseCtlCommand(stdout io.Writer) *cobra.Command {
	var (
		socket  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "ctl restart|status",
		Short: "Send a restart or status request to the supervisor of this container",
		Long: `ctl talks to the supervisor running in the same container (through its
abstract socket unless --socket says otherwise) and prints its JSON response.
devd runs it through 'docker exec' where the host cannot reach the
supervisor's socket file.`,
		Args:          cobra.ExactArgs(1),
		ValidArgs:     []string{"restart", "status"},
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			client := supervisor.NewSocketClient(socket)

			var response any
			var err error
			switch args[0] {
			case "restart":
				response, err = client.Restart(ctx)
			case "status":
				response, err = client.Status(ctx)
			default:
				return &exitError{code: exitUsage, err: fmt.Errorf("unknown operation %q: use restart or status", args[0])}
			}
			if err != nil {
				return &exitError{code: exitFailure, err: err}
			}
			out, err := json.Marshal(response)
			if err != nil {
				return &exitError{code: exitFailure, err: fmt.Errorf("encoding the response: %w", err)}
			}
			_, err = fmt.Fprintf(stdout, "%s\n", out)
			return err
		},
	}
	cmd.Flags().StringVar(&socket, "socket", supervisor.AbstractSocket, "supervisor socket: a path, or @name for an abstract socket")
	cmd.Flags().DurationVar(&timeout, "timeout", ctlTimeout, "how long to wait for the response")
	return cmd
}

// commandLogger builds the logger from the root command's --log-level and
// --log-json, read from the parsed flags so that this command needs none of
// the root command's state.
func commandLogger(cmd *cobra.Command, stderr io.Writer) (hclog.Logger, error) {
	level, err := cmd.Flags().GetString("log-level")
	if err != nil || strings.TrimSpace(level) == "" {
		level = "info"
	}
	jsonFormat, _ := cmd.Flags().GetBool("log-json")
	return newLogger(level, jsonFormat, stderr)
}
