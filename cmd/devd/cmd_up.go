package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/compose-spec/compose-go/v2/types"
	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/devdtool/devd/compose"
	"github.com/devdtool/devd/daemon"
	"github.com/devdtool/devd/engine"
	"github.com/devdtool/devd/plan"
	"github.com/devdtool/devd/up"
)

// downTimeout bounds `docker compose down` when devd exits with
// --down-on-exit: the services' stop grace periods plus removal.
const downTimeout = 2 * time.Minute

// upFlags are the flags of `devd up` besides the root's.
type upFlags struct {
	downOnExit bool
	noBuild    bool
}

// newUpCommand returns `devd up`.
func newUpCommand(opts *rootOptions, stdout, stderr io.Writer) *cobra.Command {
	var f upFlags
	cmd := &cobra.Command{
		Use:   "up [flags] [SERVICE...]",
		Short: "Start the Compose stack with devd's supervisor in each watched service, then watch it",
		Long: `up runs the x-devd host build of each service that has one (its image may
copy what the build writes), builds the services' images with your docker
compose, writes a Compose override that runs devd's supervisor in front of
each watched service's command, starts the stack with it (docker compose up
--detach --wait), then watches the project as plain devd does. Restarts then restart the service's
process, in milliseconds, instead of its container.

The override is written to .devd/compose.devd.yaml in the project folder;
.devd/ holds a .gitignore, so nothing in it gets committed. It fixes each
supervised service's entrypoint and command: after changing them in the
Compose file, run devd up again. A service opts out with
'x-devd: {supervise: false}'.

The engine must run on this machine: the supervisor is the devd binary
itself, bind-mounted into the containers. On a macOS host, or with a devd
built with cgo, set DEVD_SUPERVISOR to a static Linux devd for the engine's
architecture. Remote engines (tcp://, ssh://) are not supported: start the
stack with docker compose and run plain devd, which restarts containers.`,
		Args:          cobra.ArbitraryArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runUp(cmd.Context(), opts, f, args, stderr)
		},
	}
	cmd.SetOut(stdout)
	cmd.Flags().BoolVar(&f.downOnExit, "down-on-exit", false, "stop and remove the services' containers when devd exits (volumes are kept)")
	cmd.Flags().BoolVar(&f.noBuild, "no-build", false, "run no x-devd host build and build no image: use the images the engine has")
	return cmd
}

func runUp(ctx context.Context, opts *rootOptions, f upFlags, services []string, stderr io.Writer) (err error) {
	// As under plain devd, the log adds only warnings and errors unless a
	// level is set, and the steps are shown in plain words.
	log, err := newLogger(opts.effectiveLogLevel(), opts.logJSON, stderr)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	say := plainSteps(opts.logJSON, stderr)
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Everything that can be wrong in the configuration is reported before
	// any image is built or container touched.
	opts.selected = services
	project, model, err := compose.LoadModel(ctx, opts.composeOptions(services), log.Named("compose"))
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := nothingToDo(project, services); err != nil {
		return err
	}
	if _, err := plan.Compile(project.Services); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	endpoint, err := engine.ResolveEndpoint(os.Getenv)
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	if err := checkLocalEngine(endpoint); err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	// Another devd for the project holds its debug ports, and building
	// and starting the stack under it would disturb it: the lock comes
	// first.
	lock, err := lockProject(project.Name)
	if err != nil {
		return err
	}
	defer lock.close()
	if err := daemon.CheckDebugPorts(project.Services); err != nil {
		return &exitError{code: exitUsage, err: err}
	}

	eng, err := engine.Connect(ctx, endpoint)
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	defer eng.Close()
	info, err := eng.ServerInfo(ctx)
	if err != nil {
		return &exitError{code: exitUnreachable, err: err}
	}
	if info.OS != "linux" {
		return &exitError{code: exitUsage, err: fmt.Errorf("devd up needs an engine that runs Linux containers; this one runs %s containers", info.OS)}
	}
	if info.DockerDesktop {
		log.Warn("docker desktop: the supervisor must be a linux binary for the engine (set DEVD_SUPERVISOR on a macOS host), and the engine sees host folders only through file sharing, which covers your home folder by default",
			"engine_arch", info.Arch)
	}

	run := up.UpOptions{
		Files:       project.ComposeFiles,
		ProjectName: project.Name,
		ProjectDir:  project.WorkingDir,
		Profiles:    opts.profiles,
		EnvFiles:    opts.envFiles,
		Services:    services,
		NoBuild:     f.noBuild,
	}
	run.Stdout, run.Stderr = composeOutput(log, opts.logJSON, stderr)

	if !f.noBuild {
		// An image may copy what a host build writes, so those builds come
		// first.
		if err := hostBuilds(ctx, log, say, project, opts.logJSON, stderr); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
		log.Info("building images", "project", project.Name)
		say("devd", "building images")
		if err := up.Build(ctx, run); err != nil {
			return &exitError{code: exitFailure, err: err}
		}
	}
	override, err := writeOverride(ctx, log, say, eng, info, project, model, run)
	if err != nil {
		return err
	}
	run.Override = override

	if f.downOnExit {
		defer func() {
			// A second interrupt now ends devd the default way.
			stop()
			log.Info("stopping the stack", "project", project.Name)
			say("devd", "stopping the stack")
			downCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), downTimeout)
			defer cancel()
			if downErr := up.Down(downCtx, run); downErr != nil {
				err = errors.Join(err, &exitError{code: exitFailure, err: downErr})
			}
		}()
	}
	log.Info("starting the stack", "project", project.Name)
	say("devd", "starting the stack")
	if err := up.Up(ctx, run); err != nil {
		return &exitError{code: exitFailure, err: err}
	}
	log.Info("stack started", "project", project.Name)
	pruneSockets(ctx, log, eng, project)
	_ = eng.Close()

	// From here on devd runs as plain devd does, on the project as Compose
	// loads it now: with the override after the user's files, also when it
	// reloads the project.
	// NOTE: the override fixes each supervised service's entrypoint and
	// command as they were at start. A later edit of `entrypoint:` or
	// `command:` in the user's files is masked by it until devd up runs
	// again.
	opts.files = append(append([]string(nil), project.ComposeFiles...), override)
	opts.project = project.Name
	opts.projectDir = project.WorkingDir
	project, err = compose.Load(ctx, opts.composeOptions(services), log.Named("compose"))
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	return runDaemonWithProject(ctx, opts, project, lock, stderr)
}

// pruneSockets removes the control sockets that removed containers left in
// the services' control folders. A failure only costs a few stale files, so
// it is logged and devd goes on.
func pruneSockets(ctx context.Context, log hclog.Logger, eng *engine.Client, project *compose.Project) {
	containers, err := eng.ProjectContainers(ctx, project.Name)
	if err != nil {
		log.Debug("listing containers to remove stale control sockets failed", "error", err)
		return
	}
	var live []string
	for _, c := range containers {
		live = append(live, c.ID)
	}
	for _, svc := range project.Services {
		if !up.Supervised(svc) {
			continue
		}
		dir, err := up.RunDir(project.Name, svc.Name)
		if err != nil {
			continue
		}
		if n, err := up.PruneSockets(dir, live); err != nil || n > 0 {
			log.Debug("removed stale control sockets", "service", svc.Name, "count", n, "error", err)
		}
	}
}

// writeOverride inspects the supervised services' images (pulling the ones
// the engine lacks), finds the supervisor binary and the control folders,
// and writes the override file. It returns the file's path.
func writeOverride(ctx context.Context, log hclog.Logger, say stepFunc, eng *engine.Client, info engine.Info, project *compose.Project, model *types.Project, opts up.UpOptions) (string, error) {
	images, err := imageConfigs(ctx, log, say, eng, project, model, opts)
	if err != nil {
		return "", err
	}

	bin := ""
	runDirs := map[string]string{}
	for _, svc := range project.Services {
		if !up.Supervised(svc) {
			continue
		}
		if bin == "" {
			if bin, err = up.SupervisorBinary(info.Arch); err != nil {
				return "", &exitError{code: exitUsage, err: err}
			}
			log.Debug("supervisor binary", "path", bin, "engine_arch", info.Arch)
		}
		dir, err := up.RunDir(project.Name, svc.Name)
		if err != nil {
			return "", &exitError{code: exitFailure, err: err}
		}
		runDirs[svc.Name] = dir
	}
	if len(runDirs) == 0 {
		log.Warn("no service runs under the supervisor: every watched service has x-devd.supervise: false; restarts restart containers")
	}

	wraps, err := up.Plan(model, project.Services, images)
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	for _, w := range wraps {
		for _, note := range w.Notes {
			log.Warn("debugger not added to the command", "service", w.Service, "detail", note)
		}
		log.Debug("service supervised", "service", w.Service, "command", strings.Join(append(append([]string(nil), w.Entrypoint...), w.Command...), " "))
	}
	data, err := up.Override(model, project.Services, images, bin, runDirs)
	if err != nil {
		return "", &exitError{code: exitUsage, err: err}
	}
	path, err := up.Write(project.WorkingDir, data)
	if err != nil {
		return "", &exitError{code: exitFailure, err: err}
	}
	log.Info("compose override written; .devd/ is git-ignored", "path", path, "service_count", len(wraps))
	say("devd", "wrote the Compose override "+path+" (.devd/ is git-ignored)")
	return path, nil
}

// imageConfigs inspects the image of each supervised service whose command
// depends on it. Images the engine lacks are pulled once, unless the
// service builds its image: then the build is missing.
func imageConfigs(ctx context.Context, log hclog.Logger, say stepFunc, eng *engine.Client, project *compose.Project, model *types.Project, opts up.UpOptions) (map[string]engine.ImageConfig, error) {
	images := map[string]engine.ImageConfig{}
	var missing []string
	inspect := func(name string) error {
		sc := model.Services[name]
		cfg, err := eng.ImageConfig(ctx, up.ImageName(model.Name, sc))
		if err == nil {
			images[name] = cfg
		}
		return err
	}
	for _, svc := range project.Services {
		sc, ok := model.Services[svc.Name]
		if !up.Supervised(svc) || !ok || !up.NeedsImage(sc) {
			continue
		}
		err := inspect(svc.Name)
		switch {
		case err == nil:
		case errors.Is(err, engine.ErrNotFound) && sc.Build == nil:
			missing = append(missing, svc.Name)
		case errors.Is(err, engine.ErrNotFound) && opts.NoBuild:
			return nil, &exitError{code: exitFailure, err: fmt.Errorf("service %q: image %s does not exist: run devd up without --no-build", svc.Name, up.ImageName(model.Name, sc))}
		default:
			return nil, &exitError{code: exitFailure, err: fmt.Errorf("service %q: %w", svc.Name, err)}
		}
	}
	if len(missing) == 0 {
		return images, nil
	}

	sort.Strings(missing)
	log.Info("pulling images", "services", strings.Join(missing, ","))
	say("devd", "pulling the images of "+strings.Join(missing, ", "))
	if err := up.Pull(ctx, opts, missing); err != nil {
		return nil, &exitError{code: exitFailure, err: err}
	}
	for _, name := range missing {
		if err := inspect(name); err != nil {
			return nil, &exitError{code: exitFailure, err: fmt.Errorf("service %q: %w", name, err)}
		}
	}
	return images, nil
}

// hostBuilds runs the x-devd build of each selected service that has one,
// in service-name order, with the command's output shown as Compose's is.
// It runs every build even when one fails, so that all the errors are
// shown at once, and stops when ctx ends.
func hostBuilds(ctx context.Context, log hclog.Logger, say stepFunc, project *compose.Project, jsonFormat bool, stderr io.Writer) error {
	services := slices.Clone(project.Services)
	sort.Slice(services, func(i, j int) bool { return services[i].Name < services[j].Name })

	var errs []error
	for _, svc := range services {
		if svc.Build == nil {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		slog := log.With("service", svc.Name)
		slog.Info("building on the host", "command", up.CommandText(svc.Build.Command), "dir", svc.Build.Dir)
		say(svc.Name, "building on the host: "+up.CommandText(svc.Build.Command))
		start := time.Now()
		stdout, errOut := stderr, stderr
		if jsonFormat {
			out := log.Named("build").With("service", svc.Name)
			stdout = &lineLogger{log: out, msg: "host build output", stream: "stdout"}
			errOut = &lineLogger{log: out, msg: "host build output", stream: "stderr"}
		}
		if err := up.HostBuild(ctx, svc, stdout, errOut); err != nil {
			// The error becomes devd's exit message, so it is not logged too.
			errs = append(errs, err)
			continue
		}
		elapsed := time.Since(start).Round(time.Millisecond)
		slog.Info("built on the host", "duration", elapsed, "output", svc.Build.Output)
		say(svc.Name, "built on the host in "+elapsed.String())
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return ctx.Err()
}

// stepFunc is a function that shows a step of devd up in plain words under
// a source: a service name or "devd".
type stepFunc func(source, text string)

// plainSteps returns a stepFunc that writes "source: text" lines to w, as
// a running devd shows its events. With JSON logs it writes nothing,
// because the log entries carry the steps.
func plainSteps(jsonFormat bool, w io.Writer) stepFunc {
	if jsonFormat {
		return func(string, string) {}
	}
	return func(source, text string) {
		fmt.Fprintf(w, "%s: %s\n", source, text)
	}
}

// checkLocalEngine refuses engines reached over the network: devd up
// bind-mounts files of this host into the containers, which a remote
// engine cannot see.
func checkLocalEngine(ep engine.Endpoint) error {
	u, err := url.Parse(ep.Host)
	if err != nil || u.Scheme == "unix" || u.Scheme == "npipe" {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("devd up needs a Docker engine on this machine, and %s (from %s) is reached over the network: "+
		"it cannot bind-mount devd's supervisor from this host. Start the stack with docker compose up and run plain devd, which restarts containers instead of processes",
		ep.Host, ep.Source)
}

// composeOutput returns where the docker CLI's output goes: to stderr, or
// as log entries in JSON mode, so that every line devd prints stays one
// JSON object.
func composeOutput(log hclog.Logger, jsonFormat bool, stderr io.Writer) (stdout, errOut io.Writer) {
	if !jsonFormat {
		return stderr, stderr
	}
	out := log.Named("docker")
	return &lineLogger{log: out, stream: "stdout"}, &lineLogger{log: out, stream: "stderr"}
}

// lineLogger logs each line written to it. It is used by one writer
// goroutine at a time, as exec.Cmd does for a stream.
type lineLogger struct {
	log hclog.Logger
	// msg is the message of each entry; empty means "docker compose output".
	msg     string
	stream  string
	pending []byte
}

func (l *lineLogger) Write(p []byte) (int, error) {
	l.pending = append(l.pending, p...)
	for {
		i := strings.IndexByte(string(l.pending), '\n')
		if i < 0 {
			return len(p), nil
		}
		if line := strings.TrimRight(string(l.pending[:i]), "\r"); line != "" {
			msg := l.msg
			if msg == "" {
				msg = "docker compose output"
			}
			l.log.Info(msg, "stream", l.stream, "line", line)
		}
		l.pending = l.pending[i+1:]
	}
}
