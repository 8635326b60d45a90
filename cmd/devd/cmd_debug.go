package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/debug"
	"github.com/spf13/cobra"
)

// Formats of `devd debug`.
const (
	debugFormatText    = "text"
	debugFormatVSCode  = "vscode"
	debugFormatGoLand  = "goland"
	vscodeLaunchFormat = "0.2.0" // the "version" of a launch.json
)

// debugReport is the output of `devd debug --json`.
type debugReport struct {
	Project string `json:"project"`
	// Running is false when no devd serves the project: the addresses are
	// then those devd would pick now.
	Running bool `json:"running"`
	// Workspace is the project folder, which ${workspaceFolder} stands for
	// in the VS Code configurations.
	Workspace string          `json:"workspace"`
	Endpoints []debugEndpoint `json:"endpoints"`
}

// debugEndpoint is one debug port with its IDE configurations.
type debugEndpoint struct {
	debug.Endpoint
	VSCode    *debug.VSCodeConfig    `json:"vscode,omitempty"`
	JetBrains *debug.JetBrainsConfig `json:"jetbrains,omitempty"`
	// Notes explain what prevents attaching, or what else to know.
	Notes []string `json:"notes,omitempty"`
}

func newDebugCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	var (
		asJSON bool
		format string
	)
	cmd := &cobra.Command{
		Use:   "debug [SERVICE...]",
		Short: "Show where to attach a debugger, with IDE configurations to paste",
		Long: `Show, for each debug port of the services (or of the SERVICE names given),
the host address devd proxies it on, which stays the same across restarts,
and configurations that attach an IDE to it:

  - VS Code: launch.json entries (Node.js attach with restart, Go remote attach),
    with the source folders mapped to the container's;
  - GoLand, WebStorm and IntelliJ IDEA: the fields of a Go Remote or an Attach to
    Node.js/Chrome configuration.

The addresses come from the running devd. When none runs, devd debug says so
and shows the addresses devd would pick now.

--format vscode prints a whole launch.json, --format goland only the JetBrains
fields, --format text (the default) everything; --json prints it all as JSON.`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeServices(opts),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch format {
			case debugFormatText, debugFormatVSCode, debugFormatGoLand:
			default:
				return &exitError{code: exitUsage, err: fmt.Errorf("invalid --format %q: use %s, %s or %s",
					format, debugFormatText, debugFormatVSCode, debugFormatGoLand)}
			}
			ctx, stop := interruptible(cmd)
			defer stop()

			report, err := buildDebugReport(ctx, opts, args, stderr)
			if err != nil {
				return err
			}
			if !report.Running {
				fmt.Fprintf(stderr, "devd: no devd is running for project %q: these are the addresses it would pick now; "+
					"start it with 'devd' in the project folder\n", report.Project)
			}
			switch {
			case asJSON:
				return writeJSON(stdout, report)
			case format == debugFormatVSCode:
				return writeLaunchJSON(stdout, report, stderr)
			case format == debugFormatGoLand:
				writeJetBrains(stdout, report, "")
				return nil
			}
			return writeDebugText(stdout, report)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the addresses and configurations as JSON")
	cmd.Flags().StringVar(&format, "format", debugFormatText, "what to print: text, vscode (a launch.json) or goland (JetBrains IDE fields)")
	cmd.MarkFlagsMutuallyExclusive("json", "format")
	return cmd
}

// buildDebugReport loads the project, requests the proxy addresses from
// the running devd or computes them, and builds the endpoints of the services.
func buildDebugReport(ctx context.Context, opts *rootOptions, services []string, stderr io.Writer) (*debugReport, error) {
	log, err := newLogger(opts.logLevel, opts.logJSON, stderr)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	project, err := compose.Load(ctx, opts.composeOptions(nil), log.Named("compose"))
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}
	selected, err := debugServices(project, services)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: err}
	}

	report := &debugReport{Project: project.Name, Workspace: project.WorkingDir}
	addrs, running, err := proxyAddresses(ctx, project, stderr)
	if err != nil {
		return nil, err
	}
	report.Running = running

	for _, svc := range selected {
		for _, port := range svc.Debug {
			report.Endpoints = append(report.Endpoints, buildEndpoint(svc, port, addrs, project.WorkingDir))
		}
	}
	return report, nil
}

// debugServices returns the services to describe, sorted by name: those
// named, or every watched service with a debug port.
func debugServices(project *compose.Project, names []string) ([]compose.Service, error) {
	var selected []compose.Service
	for _, svc := range project.Services {
		if len(names) == 0 && svc.Watch && len(svc.Debug) > 0 {
			selected = append(selected, svc)
		}
	}
	var all []string
	for _, svc := range project.Services {
		all = append(all, svc.Name)
	}
	for _, name := range names {
		i := slices.IndexFunc(project.Services, func(s compose.Service) bool { return s.Name == name })
		switch {
		case i < 0:
			return nil, fmt.Errorf("unknown service %q; the project's services are %s", name, strings.Join(all, ", "))
		case len(project.Services[i].Debug) == 0:
			return nil, fmt.Errorf("service %q has no debug port: run its program with a debugger that listens on all "+
				"interfaces (node --inspect=0.0.0.0:9229, dlv exec --headless --listen=:2345) or declare the port under x-devd.debug", name)
		case !project.Services[i].Watch:
			return nil, fmt.Errorf("service %q is not watched (x-devd.watch: false), so devd does not proxy its debug ports", name)
		}
		selected = append(selected, project.Services[i])
	}
	if len(selected) == 0 {
		return nil, fmt.Errorf("no service of project %q has a debug port: run a program with a debugger that listens on all "+
			"interfaces (node --inspect=0.0.0.0:9229, dlv exec --headless --listen=:2345) or declare one under x-devd.debug", project.Name)
	}
	slices.SortFunc(selected, func(a, b compose.Service) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(selected, func(a, b compose.Service) bool { return a.Name == b.Name }), nil
}

// proxyKey names a debug port of a service.
type proxyKey struct {
	service string
	port    int
}

// proxyAddress is the address of devd's proxy for a debug port.
type proxyAddress struct {
	addr    string
	runtime string // as the running devd reports it, "" when unknown
}

// proxyAddresses returns the proxy address of every debug port: from the
// running devd, or as devd would allocate them now when none runs
// (running false).
func proxyAddresses(ctx context.Context, project *compose.Project, stderr io.Writer) (map[proxyKey]proxyAddress, bool, error) {
	out := make(map[proxyKey]proxyAddress)
	c, err := control.Dial(project.Name)
	if err == nil {
		defer c.Close()
		st, err := c.Status(ctx)
		if err != nil {
			return nil, false, controlError(err)
		}
		for _, s := range st.Services {
			for _, d := range s.Debug {
				out[proxyKey{s.Name, d.Port}] = proxyAddress{addr: d.Address, runtime: d.Runtime}
			}
		}
		return out, true, nil
	}
	if !errors.Is(err, control.ErrNotRunning) {
		return nil, false, &exitError{code: exitFailure, err: err}
	}

	// The same requests as devd makes, so the same addresses come out.
	var reqs []debug.Request
	for _, svc := range project.Services {
		if !svc.Watch {
			continue
		}
		for _, d := range svc.Debug {
			reqs = append(reqs, debug.Request{Service: svc.Name, Port: d.Port, Listen: d.Listen, AllowRemote: d.AllowRemote})
		}
	}
	assigned, err := debug.Allocate(reqs, debug.PortFree)
	if err != nil {
		fmt.Fprintf(stderr, "devd: %v\n", err)
	}
	for _, a := range assigned {
		out[proxyKey{a.Service, a.Port}] = proxyAddress{addr: a.Addr}
	}
	return out, false, nil
}

// buildEndpoint describes one debug port of svc with its configurations.
func buildEndpoint(svc compose.Service, port compose.DebugPort, addrs map[proxyKey]proxyAddress, workspace string) debugEndpoint {
	pa := addrs[proxyKey{svc.Name, port.Port}]
	e := debugEndpoint{Endpoint: debug.Endpoint{
		Service:       svc.Name,
		Runtime:       cmp.Or(pa.runtime, port.Runtime),
		ContainerPort: port.Port,
		Address:       pa.addr,
		Sources:       sourceMappings(svc),
		LoopbackOnly:  port.LoopbackOnly,
	}}
	if e.Runtime == debug.RuntimeGo && svc.Build != nil {
		// The host build writes host paths into the binary's debug
		// information, which is what the IDE has open.
		e.Sources = nil
		e.Notes = append(e.Notes, "the binary is built on the host, so its debug information names host paths: no path mapping is needed")
	}
	if port.LoopbackOnly {
		fix := fmt.Sprintf("make it listen on 0.0.0.0:%d", port.Port)
		switch e.Runtime {
		case debug.RuntimeNode:
			fix = fmt.Sprintf("use --inspect=0.0.0.0:%d", port.Port)
		case debug.RuntimeGo:
			fix = fmt.Sprintf("use --listen=:%d", port.Port)
		}
		e.Notes = append(e.Notes, "the debugger listens on 127.0.0.1 inside the container, which devd cannot reach: "+fix+" in the service's command")
	}
	if e.Address == "" {
		e.Notes = append(e.Notes, "devd does not proxy this port: it was started for other services, or the address is taken (see above)")
		return e
	}

	name := "devd: " + svc.Name
	if len(svc.Debug) > 1 {
		name = fmt.Sprintf("devd: %s:%d", svc.Name, port.Port)
	}
	if cfg, ok := e.Endpoint.VSCode(name, workspace); ok {
		e.VSCode = &cfg
	}
	if cfg, ok := e.Endpoint.JetBrains(); ok {
		e.JetBrains = &cfg
	}
	if e.Runtime == "" {
		e.Notes = append(e.Notes, fmt.Sprintf("the runtime is unknown: add runtime: node or runtime: go to port %d under x-devd.debug for IDE configurations", port.Port))
	}
	return e
}

// sourceMappings returns the folders of svc's triggers that reach the
// container, bind-mounted or synced, each once.
func sourceMappings(svc compose.Service) []debug.PathMapping {
	var out []debug.PathMapping
	for _, tr := range svc.Triggers {
		if tr.Target == "" || tr.Action.Builds() {
			continue
		}
		if fi, err := os.Stat(tr.Path); err == nil && !fi.IsDir() {
			continue
		}
		if slices.ContainsFunc(out, func(m debug.PathMapping) bool { return m.Host == tr.Path }) {
			continue
		}
		out = append(out, debug.PathMapping{Host: tr.Path, Container: tr.Target})
	}
	return out
}

// writeJSON prints v indented, with <, > and & as they are, so that it can
// be pasted.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeLaunchJSON prints a launch.json with a configuration per endpoint.
func writeLaunchJSON(w io.Writer, report *debugReport, stderr io.Writer) error {
	launch := struct {
		Version        string               `json:"version"`
		Configurations []debug.VSCodeConfig `json:"configurations"`
	}{Version: vscodeLaunchFormat, Configurations: []debug.VSCodeConfig{}}
	for _, e := range report.Endpoints {
		if e.VSCode == nil {
			fmt.Fprintf(stderr, "devd: %s port %d left out: %s\n", e.Service, e.ContainerPort, strings.Join(e.Notes, "; "))
			continue
		}
		launch.Configurations = append(launch.Configurations, *e.VSCode)
	}
	return writeJSON(w, launch)
}

// runtimeTitle names what listens on a debug port.
func runtimeTitle(runtime string) string {
	switch runtime {
	case debug.RuntimeNode:
		return "Node.js inspector"
	case debug.RuntimeGo:
		return "Delve (Go)"
	}
	return "debug port"
}

// writeDebugText prints every endpoint with its address, folders, notes
// and configurations.
func writeDebugText(w io.Writer, report *debugReport) error {
	for i, e := range report.Endpoints {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s: %s, port %d in the container\n", e.Service, runtimeTitle(e.Runtime), e.ContainerPort)
		if e.Address != "" {
			fmt.Fprintf(w, "  attach to %s\n", e.Address)
		}
		for _, m := range e.Sources {
			fmt.Fprintf(w, "  source folder %s is %s in the container\n", displayPath(report.Workspace, m.Host), m.Container)
		}
		for _, n := range e.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		if e.VSCode != nil {
			var b bytes.Buffer
			if err := writeJSON(&b, e.VSCode); err != nil {
				return err
			}
			fmt.Fprintf(w, "\n  VS Code, in the \"configurations\" list of .vscode/launch.json:\n")
			for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", line)
			}
		}
		if e.JetBrains != nil {
			fmt.Fprintln(w)
			writeJetBrainsConfig(w, e.JetBrains, "  ")
		}
	}
	return nil
}

// writeJetBrains prints the JetBrains fields of every endpoint.
func writeJetBrains(w io.Writer, report *debugReport, indent string) {
	first := true
	for _, e := range report.Endpoints {
		if e.JetBrains == nil {
			continue
		}
		if !first {
			fmt.Fprintln(w)
		}
		first = false
		fmt.Fprintf(w, "%s%s:\n", indent, e.Service)
		writeJetBrainsConfig(w, e.JetBrains, indent+"  ")
	}
}

func writeJetBrainsConfig(w io.Writer, c *debug.JetBrainsConfig, indent string) {
	fmt.Fprintf(w, "%s%s: Run > Edit Configurations > Add New Configuration > %s\n", indent, c.IDE, c.Configuration)
	fmt.Fprintf(w, "%s  Host: %s\n", indent, c.Host)
	fmt.Fprintf(w, "%s  Port: %d\n", indent, c.Port)
	for _, m := range c.RemoteURLs {
		fmt.Fprintf(w, "%s  Remote URLs of local files: %s -> %s\n", indent, m.Host, m.Container)
	}
}

// displayPath writes a host path relative to the project folder when it
// lies inside it.
func displayPath(workspace, path string) string {
	rel, err := filepath.Rel(workspace, path)
	switch {
	case err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)):
		return path
	case rel == ".":
		return rel
	}
	return "." + string(filepath.Separator) + rel
}
