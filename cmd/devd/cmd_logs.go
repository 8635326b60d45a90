package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
	"github.com/spf13/cobra"
)

// followHint explains, after an error, that -f is not --follow: the root
// command's persistent -f/--file takes the shorthand in every command.
const followHint = "in devd, -f is --file, a Compose file; to follow the logs, use --follow"

func newLogsCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	var follow bool
	cmd := &cobra.Command{
		Use:   "logs [SERVICE...] [--follow] [--no-output]",
		Short: "Show devd's events and the services' output",
		Long: `Show what devd did (syncs, restarts, builds, debugger sessions, errors) and
the services' output, with timestamps. With SERVICE names, show only those
services and devd's project-wide events.

Without --follow, print the events devd kept and exit; with --follow, go on
until Ctrl-C or until devd stops. Unlike 'docker compose logs', -f is not
--follow here: it is devd's --file flag.`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			console := control.NewConsole(stdout, useColor(stdout))
			console.SetTimestamps(true)
			defer console.Flush()
			err := streamFromDevd(cmd, opts, stderr, control.EventsOptions{
				History:  true,
				Follow:   follow,
				Output:   !opts.noOutput,
				Services: args,
			}, func(e event.Event) error {
				console.Render(e)
				return nil
			})
			var ee *exitError
			if errors.As(err, &ee) && ee.code == exitUsage && cmd.Flags().Changed("file") {
				return &exitError{code: exitUsage, err: fmt.Errorf("%w (%s)", err, followHint)}
			}
			return err
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if strings.Contains(err.Error(), "-f") {
			err = fmt.Errorf("%w (%s)", err, followHint)
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("%w; see 'devd logs --help'", err)}
	})
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new events until Ctrl-C")
	return cmd
}

func newEventsCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	var output, history bool
	cmd := &cobra.Command{
		Use:   "events [SERVICE...] [--output] [--history]",
		Short: "Print devd's events as JSON lines",
		Long: `Print each of devd's events as one JSON object per line, as it happens,
until Ctrl-C or until devd stops. docs/control-api.md describes the fields.
The services' output lines are left out unless --output is given.`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			enc := json.NewEncoder(stdout)
			return streamFromDevd(cmd, opts, stderr, control.EventsOptions{
				History:  history,
				Follow:   true,
				Output:   output,
				Services: args,
			}, func(e event.Event) error {
				return enc.Encode(e)
			})
		},
	}
	cmd.Flags().BoolVar(&output, "output", false, "include the services' output lines")
	cmd.Flags().BoolVar(&history, "history", false, "start with the events devd kept")
	return cmd
}

// streamFromDevd hands each event of the stream to handle until the stream
// ends, devd stops or the user presses Ctrl-C.
func streamFromDevd(cmd *cobra.Command, opts *rootOptions, stderr io.Writer, eo control.EventsOptions, handle func(event.Event) error) error {
	ctx, stop := interruptible(cmd)
	defer stop()
	c, err := dialProject(ctx, opts, stderr)
	if err != nil {
		return err
	}
	defer c.Close()

	stream, err := c.Events(ctx, eo)
	if err != nil {
		return controlError(err)
	}
	defer stream.Close()

	for {
		e, err := stream.Next()
		switch {
		case ctx.Err() != nil:
			// Ctrl-C is how a follow ends.
			return nil
		case errors.Is(err, io.EOF):
			if eo.Follow {
				fmt.Fprintf(stderr, "devd: the devd at %s stopped\n", c.Socket())
			}
			return nil
		case err != nil:
			return &exitError{code: exitFailure, err: err}
		}
		if err := handle(e); err != nil {
			return &exitError{code: exitFailure, err: fmt.Errorf("writing event: %w", err)}
		}
	}
}
