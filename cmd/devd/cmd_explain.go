package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/up"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"
)

func newExplainCommand(opts *rootOptions, stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "explain PATH...",
		Short: "Say which services and rules a path concerns and what a change to it does",
		Long: `explain reads the Compose project as devd does and prints, for each path,
every service rule whose folder contains it: whether a change is ignored and
by which pattern, where the file goes in the container, which command runs
after the sync, whether the image is rebuilt or the host build runs, and
how the service restarts. It needs no Docker engine.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExplain(cmd.Context(), opts, args, stdout)
		},
	}
}

func runExplain(ctx context.Context, opts *rootOptions, paths []string, stdout io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	project, err := compose.Load(ctx, opts.composeOptions(nil), hclog.NewNullLogger())
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	rules, err := plan.Compile(project.Services)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("resolving %s: %w", p, err)}
		}
		if resolved, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			abs = filepath.Join(resolved, filepath.Base(abs))
		}
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s\n", abs)
		explanations := plan.Explain(abs, rules)
		if _, err := os.Lstat(abs); err != nil {
			// Only a rule that copies the path deletes it. An ignored path
			// is left alone on both sides.
			synced := false
			for _, e := range explanations {
				synced = synced || e.ContainerPath != "" && e.IgnoredBy == "" && e.Hidden == ""
			}
			if synced {
				fmt.Fprintf(stdout, "  (does not exist on the host now; where it is synced, devd deletes it in the container)\n")
			} else {
				fmt.Fprintf(stdout, "  (does not exist on the host now)\n")
			}
		}
		printExplanations(stdout, explanations, project)
	}
	return nil
}

func printExplanations(w io.Writer, explanations []plan.Explanation, project *compose.Project) {
	if len(explanations) == 0 {
		fmt.Fprintf(w, "  no watched folder of project %q contains it: a change does nothing\n", project.Name)
		return
	}
	for _, e := range explanations {
		t := e.Rule.Trigger
		fmt.Fprintf(w, "  service %s, %s trigger on %s (%s):\n", e.Service, t.Source, t.Path, t.Action)
		switch {
		case e.Hidden != "":
			fmt.Fprintf(w, "    not watched: %s is hidden in the container by another mount\n", e.Hidden)
			continue
		case e.IgnoredBy != "":
			fmt.Fprintf(w, "    ignored: %s\n", e.IgnoredBy)
			continue
		}
		switch {
		case e.ContainerPath != "":
			fmt.Fprintf(w, "    synced to %s\n", e.ContainerPath)
		case e.MountedAt != "":
			fmt.Fprintf(w, "    bind-mounted at %s: the container sees it at once, nothing is copied\n", e.MountedAt)
		case t.BindMounted && t.Target != "":
			fmt.Fprintf(w, "    bind-mounted at %s: the container sees it at once, nothing is copied\n", t.Target)
		}
		if t.InitialSync && e.ContainerPath != "" {
			fmt.Fprintf(w, "    initial_sync: devd brings %s up to date with the host at start and when a container starts (as for every synced folder)\n", t.Target)
		}
		if t.Action.Rebuilds() {
			fmt.Fprintf(w, "    builds the image with docker compose and recreates the service's containers\n")
		}
		if t.Exec != nil {
			fmt.Fprintf(w, "    after the sync, runs %s in every container of the service\n", t.Exec.Summary())
		}
		if t.Action.Builds() {
			fmt.Fprintf(w, "    %s\n", hostBuildOf(project, e.Service))
		}
		if t.Action.Restarts() || t.Action.Builds() {
			fmt.Fprintf(w, "    %s\n", restartOf(project, e.Service))
		}
	}
}

// hostBuildOf returns what a change does through the service's host build.
func hostBuildOf(project *compose.Project, service string) string {
	for _, s := range project.Services {
		if s.Name == service && s.Build != nil {
			return "runs the host build `" + up.CommandText(s.Build.Command) + "`, then copies its output to " + s.Build.Target + " in the container"
		}
	}
	return "runs the host build, then copies its output into the container"
}

// restartOf returns what a restart of the service does in its restart mode.
func restartOf(project *compose.Project, service string) string {
	for _, s := range project.Services {
		if s.Name != service {
			continue
		}
		mode := s.Restart
		switch {
		case !s.RestartSet:
			return "restarts the service (restart mode process under devd up, " + mode.String() + " otherwise)"
		case mode.Kind == compose.RestartSignal:
			return "sends " + mode.Signal + " to the service's main process (restart mode " + mode.String() + ")"
		case mode.Kind == compose.RestartProcess:
			return "restarts the service's process under devd up (restart mode process); plain devd restarts the container instead"
		case mode.Kind == compose.RestartNone:
			return "does not restart the service (restart mode none)"
		default:
			return "restarts the service (restart mode " + mode.String() + ")"
		}
	}
	return "restarts the service (restart mode unknown)"
}
