package main

import (
	"context"
	"fmt"
	"io"

	"github.com/devdtool/devd/control"
	"github.com/spf13/cobra"
)

func newRestartCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:               "restart SERVICE",
		Short:             "Restart a service now, as a file change would",
		Long:              "Restart a service with its restart mode now, as a saved file would, and wait until it is done.",
		Args:              serviceArgs(1, 1),
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAction(cmd, opts, stderr, func(ctx context.Context, c *control.Client) error {
				if _, err := c.Restart(ctx, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "%s: restarted\n", args[0])
				return err
			})
		},
	}
}

func newSyncCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "sync SERVICE",
		Short: "Copy every changed file of a service into its containers",
		Long: `Compare the service's synced folders with its containers and copy every file
that differs, then apply the service's action (restart, exec) as a change
would. Use it after changing files while devd was stopped or paused.`,
		Args:              serviceArgs(1, 1),
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAction(cmd, opts, stderr, func(ctx context.Context, c *control.Client) error {
				if _, err := c.Sync(ctx, args[0]); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "%s: synced\n", args[0])
				return err
			})
		},
	}
}

func newPauseCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "pause [SERVICE]",
		Short: "Stop applying changes to a service, or to every service",
		Long: `Stop syncing and restarting a service, or every service when none is named.
devd keeps watching and remembers the changes; 'devd resume' applies them.`,
		Args:              serviceArgs(0, 1),
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			service := optionalService(args)
			return runAction(cmd, opts, stderr, func(ctx context.Context, c *control.Client) error {
				if _, err := c.Pause(ctx, service); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "%s: paused; changes are kept until 'devd resume'\n", serviceOrAll(service))
				return err
			})
		},
	}
}

func newResumeCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:               "resume [SERVICE]",
		Short:             "Apply the changes kept while paused and go on",
		Args:              serviceArgs(0, 1),
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			service := optionalService(args)
			return runAction(cmd, opts, stderr, func(ctx context.Context, c *control.Client) error {
				if _, err := c.Resume(ctx, service); err != nil {
					return err
				}
				_, err := fmt.Fprintf(stdout, "%s: resumed\n", serviceOrAll(service))
				return err
			})
		},
	}
}

// runAction connects to devd and runs one request, with Ctrl-C cancelling
// it.
func runAction(cmd *cobra.Command, opts *rootOptions, stderr io.Writer, action func(context.Context, *control.Client) error) error {
	ctx, stop := interruptible(cmd)
	defer stop()
	c, err := dialProject(ctx, opts, stderr)
	if err != nil {
		return err
	}
	defer c.Close()
	return controlError(action(ctx, c))
}

func optionalService(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

func serviceOrAll(service string) string {
	if service == "" {
		return "every service"
	}
	return service
}
