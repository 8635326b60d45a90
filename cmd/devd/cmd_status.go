package main

import (
	"encoding/json"
	"io"

	"github.com/devdtool/devd/control"
	"github.com/spf13/cobra"
)

func newStatusCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [--json]",
		Short: "Show the services of the running devd",
		Long: `Show what the devd of this project is doing, per service: containers and
their state, restart mode, last sync and last restart with their timings,
restart count, errors and debug endpoints.

--json prints the status object that docs/control-api.md describes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := interruptible(cmd)
			defer stop()
			c, err := dialProject(ctx, opts, stderr)
			if err != nil {
				return err
			}
			defer c.Close()

			st, err := c.Status(ctx)
			if err != nil {
				return controlError(err)
			}
			if asJSON {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			return control.WriteStatus(stdout, st)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}
