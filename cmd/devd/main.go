// Command devd keeps the services of a Docker Compose project in step with
// their host source folders: it syncs every saved change into the running
// containers, restarts the services, and proxies their debug ports on
// stable loopback addresses.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/daemon"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/watch"
	"github.com/spf13/cobra"
)

// Exit codes, documented in the README.
const (
	exitOK          = 0 // stopped by SIGINT or SIGTERM, or a command succeeded
	exitFailure     = 1 // devd failed while running
	exitUsage       = 2 // invalid command line or Compose configuration
	exitUnreachable = 3 // the Docker engine did not answer at start
)

// minQuiet is the shortest --quiet period: below it, one save that an
// editor writes in several steps would more often make two batches.
const minQuiet = 5 * time.Millisecond

// maxQuiet is the longest --quiet period. Past it, batches are flushed at
// the maximum wait anyway, unsettled, while events keep coming.
const maxQuiet = time.Second

// parseQuiet reads --quiet; empty means the default (zero).
func parseQuiet(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < minQuiet || d > maxQuiet {
		return 0, fmt.Errorf("invalid --quiet (or DEVD_QUIET) %q: use a duration from %s to %s, such as 25ms", s, minQuiet, maxQuiet)
	}
	return d, nil
}

// minPoll is the shortest --poll interval: scanning a large tree more often
// costs more CPU than it saves in latency.
const minPoll = 100 * time.Millisecond

// defaultDashboard is where --dashboard without an address serves.
const defaultDashboard = "127.0.0.1:7979"

// exitError carries the exit code that an error maps to.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := newRootCommand(stdout, stderr)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return exitOK
	}

	if jsonLogs(args) {
		// Keep every line of output one JSON object.
		data, _ := json.Marshal(map[string]string{
			"@level": "error", "@module": "devd", "@message": "devd cannot go on", "error": err.Error(),
			"@timestamp": time.Now().Format(jsonTimeFormat),
		})
		fmt.Fprintf(stderr, "%s\n", data)
	} else {
		fmt.Fprintf(stderr, "devd: %v\n", err)
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	// Errors that cobra returns itself are about the command line.
	return exitUsage
}

// jsonLogs reports whether the command line asks for JSON logs.
func jsonLogs(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if a == "--log-json" || a == "--log-json=true" {
			return true
		}
	}
	return false
}

type rootOptions struct {
	files      []string
	project    string
	projectDir string
	profiles   []string
	envFiles   []string
	logLevel   string
	logJSON    bool
	noOutput   bool
	dashboard  string
	poll       time.Duration
	quiet      string // a duration; parsed in runDaemonWithProject so DEVD_QUIET errors name the variable too

	// logLevelSet is true when --log-level or DEVD_LOG_LEVEL chose a level.
	logLevelSet bool

	// selected holds the service names given on the command line; empty
	// means every service.
	selected []string
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	opts := &rootOptions{}
	cmd := &cobra.Command{
		Use:   "devd [flags] [SERVICE...]",
		Short: "Sync, restart and debug Docker Compose services as you save",
		Long: `devd watches the host source folders of a Docker Compose project, gets every
saved change into the running service containers, restarts the services and
proxies their debug ports on stable loopback addresses.

Start the stack with 'docker compose up' first, then run devd in the project
folder. With SERVICE names, devd supervises only those services.`,
		// Positional arguments are service names, not subcommands.
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDaemon(cmd.Context(), opts, args, stderr)
		},
		PersistentPreRun: func(cmd *cobra.Command, args []string) {
			opts.logLevelSet = cmd.Flags().Changed("log-level") || os.Getenv("DEVD_LOG_LEVEL") != ""
		},
	}
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w; see 'devd --help'", err)}
	})

	flags := cmd.PersistentFlags()
	flags.StringArrayVarP(&opts.files, "file", "f", nil, "Compose configuration file (repeatable; default: COMPOSE_FILE or compose.yaml in this folder or a parent)")
	flags.StringVarP(&opts.project, "project-name", "p", "", "Compose project name (default: COMPOSE_PROJECT_NAME, the top-level name: of the Compose file, or the project folder's name)")
	flags.StringVar(&opts.projectDir, "project-directory", "", "project folder (default: the folder of the first Compose file)")
	flags.StringArrayVar(&opts.profiles, "profile", nil, "Compose profile to enable (repeatable)")
	flags.StringArrayVar(&opts.envFiles, "env-file", nil, "environment file to read instead of .env (repeatable)")
	flags.StringVar(&opts.logLevel, "log-level", envOr("DEVD_LOG_LEVEL", "info"), "log level: trace, debug, info, warn or error (also DEVD_LOG_LEVEL); when unset, devd shows its events in plain words and only warnings and errors from the log, or everything from info up with --log-json")
	// Unset is not info (see effectiveLogLevel), so help shows no default.
	flags.Lookup("log-level").DefValue = ""
	flags.BoolVar(&opts.logJSON, "log-json", false, "write logs as JSON lines")
	flags.BoolVar(&opts.noOutput, "no-output", false, "show only devd's own messages, not the services' output")
	flags.StringVar(&opts.dashboard, "dashboard", os.Getenv("DEVD_DASHBOARD"), "serve the web dashboard on this loopback address, for example 127.0.0.1:7979 (also DEVD_DASHBOARD)")
	flags.Lookup("dashboard").NoOptDefVal = defaultDashboard
	flags.StringVar(&opts.quiet, "quiet", os.Getenv("DEVD_QUIET"), fmt.Sprintf("how long no file event must come before devd acts on a batch, from %s to %s (also DEVD_QUIET; default %s)", minQuiet, maxQuiet, watch.DefaultQuiet))
	flags.DurationVar(&opts.poll, "poll", 0, "scan watched folders at this interval (at least 100ms) instead of waiting for file system events, for NFS, SMB, FUSE or WSL2's /mnt/c; x-devd.poll of a service wins")

	cmd.AddCommand(newVersionCommand(stdout))
	cmd.AddCommand(newExplainCommand(opts, stdout))
	cmd.AddCommand(newUpCommand(opts, stdout, stderr))
	cmd.AddCommand(newSuperviseCommand(stdout, stderr))
	cmd.AddCommand(newDebugCommand(opts, stdout, stderr))
	addControlCommands(cmd, opts, stdout, stderr)
	return cmd
}

func runDaemon(ctx context.Context, opts *rootOptions, services []string, stderr io.Writer) error {
	log, err := newLogger(opts.logLevel, opts.logJSON, stderr)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts.selected = services
	project, err := compose.Load(ctx, opts.composeOptions(services), log.Named("compose"))
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	return runDaemonWithProject(ctx, opts, project, nil, stderr)
}

// controlLock is a project's control socket, which is also the lock that
// makes a devd the project's only one.
type controlLock struct {
	ln    net.Listener
	close func()
}

// lockProject opens the project's control socket. Another devd for the
// project is a usage error that names its process ID.
func lockProject(project string) (*controlLock, error) {
	ln, closeControl, err := control.Listen(project)
	if errors.Is(err, control.ErrAlreadyRunning) {
		return nil, &exitError{code: exitUsage, err: err}
	}
	if err != nil {
		return nil, &exitError{code: exitFailure, err: fmt.Errorf("opening the control socket: %w", err)}
	}
	return &controlLock{ln: ln, close: closeControl}, nil
}

// composeOptions returns the Compose options that the flags select.
func (o *rootOptions) composeOptions(services []string) compose.Options {
	return compose.Options{
		Files:            o.files,
		ProjectName:      o.project,
		ProjectDirectory: o.projectDir,
		Profiles:         o.profiles,
		EnvFiles:         o.envFiles,
		Services:         services,
	}
}

// runDaemonWithProject supervises a loaded project until ctx ends. The
// project is reloaded with the same options when its files change, so
// opts.files must name every file the project was loaded from. lock is the
// project's control socket when the caller opened it already, or nil. The
// caller closes a lock it passes.
func runDaemonWithProject(ctx context.Context, opts *rootOptions, project *compose.Project, lock *controlLock, stderr io.Writer) error {
	// Log lines go through the console, which keeps its progress line below
	// them.
	console, logOut := newTerminal(stderr, opts)
	log, err := newLoggerTo(opts.effectiveLogLevel(), opts.logJSON, logOut, stderr)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := nothingToDo(project, opts.selected); err != nil {
		return err
	}
	// Derive has checked every pattern of the Compose files. Compiling the
	// rules also checks what only they read, such as .gitignore lines,
	// before devd reaches the engine.
	if _, err := plan.Compile(project.Services); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if opts.poll != 0 && opts.poll < minPoll {
		return &exitError{code: exitUsage, err: fmt.Errorf("invalid --poll %s: use 0 for file system events or at least %s", opts.poll, minPoll)}
	}
	quiet, err := parseQuiet(opts.quiet)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	// Which engine to use is configuration too: a Docker context that
	// does not exist is a configuration error, not an unreachable engine.
	endpoint, err := engine.ResolveEndpoint(os.Getenv)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	// One devd per project: the control socket is also the lock. It comes
	// before the debug ports, which a devd already running holds.
	if lock == nil {
		if lock, err = lockProject(project.Name); err != nil {
			return err
		}
		defer lock.close()
	}
	if err := daemon.CheckDebugPorts(project.Services); err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	var dashboardLn net.Listener
	dashboardURL := ""
	if opts.dashboard != "" {
		dashboardLn, err = control.ListenDashboard(opts.dashboard)
		if err != nil {
			return &exitError{code: exitUsage, err: fmt.Errorf("--dashboard %s: %w", opts.dashboard, err)}
		}
		defer dashboardLn.Close()
		dashboardURL = "http://" + dashboardLn.Addr().String() + "/"
	}

	eng, err := engine.Connect(ctx, endpoint)
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	defer eng.Close()

	d := daemon.New(daemon.Config{
		Compose:    opts.composeOptions(opts.selected),
		Logger:     log,
		Version:    version(),
		EngineHost: endpoint.Host,
		Dashboard:  dashboardURL,
		Poll:       opts.poll,
		Quiet:      quiet,
	}, project, eng)

	stopTerminal := startTerminal(d.Events(), console, log, opts)
	defer stopTerminal()

	var wg sync.WaitGroup
	defer wg.Wait()
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := control.NewServer(d, log.Named("control")).Serve(serveCtx, lock.ln); err != nil {
			log.Error("control API stopped", "error", err)
		}
	}()
	if dashboardLn != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := control.NewDashboard(d, log.Named("dashboard")).Serve(serveCtx, dashboardLn); err != nil {
				log.Error("dashboard stopped", "error", err)
			}
		}()
		log.Info("dashboard serving", "url", dashboardURL)
		if !opts.logJSON {
			fmt.Fprintf(logOut, "devd: dashboard at %s\n", dashboardURL)
		}
	}

	log.Info("devd started", "version", version(), "project", project.Name, "engine", endpoint.Host)
	err = d.Run(ctx)
	if errors.Is(err, daemon.ErrInvalidConfig) {
		return &exitError{code: exitUsage, err: err}
	}
	if err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	log.Info("devd stopped")
	return nil
}

// effectiveLogLevel returns the level of devd's log. On a terminal devd
// shows its events in plain words, so the log adds only warnings and errors
// unless a level was asked for; JSON logs carry everything from info up.
func (o *rootOptions) effectiveLogLevel() string {
	if o.logLevelSet || o.logJSON {
		return o.logLevel
	}
	return "warn"
}

// nothingToDo returns a usage error when no selected service is watched,
// saying for each service what it lacks; nil otherwise.
func nothingToDo(p *compose.Project, selected []string) error {
	var buildOnly, off, others []string
	for _, s := range p.Services {
		switch {
		case s.Watch:
			return nil
		case s.WatchOff:
			off = append(off, s.Name)
		case s.BuildContext != "":
			buildOnly = append(buildOnly, s.Name)
		default:
			others = append(others, s.Name)
		}
	}

	subject := fmt.Sprintf("no service of project %q", p.Name)
	if len(selected) > 0 {
		subject = fmt.Sprintf("none of the services %s", strings.Join(selected, ", "))
	}
	var reasons []string
	if len(buildOnly) > 0 {
		reasons = append(reasons, fmt.Sprintf("%s a build: section but no bind mount of a project folder and no develop.watch, "+
			"and a build: section alone gives devd nothing to watch: bind-mount the source folder (volumes: [./src:/app/src]) or add develop.watch",
			namesHave(buildOnly)))
	}
	if len(others) > 0 {
		reasons = append(reasons, fmt.Sprintf("%s nothing to watch and no debug port: add develop.watch triggers, "+
			"or bind-mount a project folder and add a build: or x-devd section", namesHave(others)))
	}
	if len(off) > 0 {
		reasons = append(reasons, fmt.Sprintf("%s x-devd.watch: false", namesHave(off)))
	}
	return &exitError{code: exitUsage, err: fmt.Errorf("%s has anything for devd to do: %s", subject, strings.Join(reasons, "; "))}
}

// namesHave returns "a has" or "a, b and c have".
func namesHave(names []string) string {
	if len(names) == 1 {
		return names[0] + " has"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " have"
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
