// Command devd-bench measures how long a saved source file takes to reach
// the running code of a Docker Compose service. A figure is the time from
// the start of a save of message.js on the host to the first HTTP response
// of the service that carries the new text. It measures, in the same run
// and on the same copy of examples/microservices:
//
//   - devd-up: `devd up`, which starts the stack with devd's supervisor in
//     front of each service's command and restarts processes;
//   - devd: plain devd next to a stack that `docker compose up` started,
//     which restarts containers;
//   - compose-watch: `docker compose watch`, which restarts containers;
//   - nodemon: nodemon as api's command in its container, watching the
//     bind mount, with nothing running on the host (api only).
//
// The example's two services differ in how a save reaches them:
//
//   - api has its source bind-mounted, and every tool restarts it. The
//     benchmark adds a develop.watch restart trigger for Compose watch.
//   - notification has its source copied into the image, and the tools
//     sync the file and restart it (its develop.watch sync+restart).
//
// The stack is copied into a temporary folder and run under a project
// name, container names and loopback ports of its own. Each tool starts
// from a stack of its own: the previous one is removed with `docker compose
// down`, and the next one is brought up with `docker compose up`, or by
// `devd up` itself. The benchmark waits until the tool logs that it
// watches, makes warm-up saves and -saves timed saves per service, and
// stops the tool with SIGINT. Between two saves the service must respond
// unchanged for -settle, so that restarts never overlap. The stack is
// removed at the end, also after an error or Ctrl-C.
//
// nodemon is installed with npm into the user's cache folder
// (~/.cache/devd-bench/nodemon) the first time it is measured, and
// bind-mounted read-only into the api container.
//
// Reproduce from the repository root, with a Docker engine, the docker
// compose plugin and, for nodemon, npm:
//
//	make bench
//	go run ./bench/cmd/devd-bench -saves 20 -json bench.json
//	go run ./bench/cmd/devd-bench -tools devd-up,nodemon -services api
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// minSaves is the least number of measured saves per service that gives a
// median and p90 worth printing.
const minSaves = 10

// maxConsecutiveFailures stops measuring a tool that keeps failing rather
// than waiting out every save's timeout.
const maxConsecutiveFailures = 3

// options are the command-line flags.
type options struct {
	tools          []string
	services       []string
	saves          int
	warmups        int
	devd           string
	jsonPath       string
	saveMode       string
	pollInterval   time.Duration
	requestTimeout time.Duration
	saveTimeout    time.Duration
	settle         time.Duration
	readyTimeout   time.Duration
	verbose        bool
	devdArgs       []string // added to devd's command line, before "up"
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "devd-bench: %v\n", err)
		os.Exit(2)
	}
	if err := run(opts); err != nil {
		fmt.Fprintf(os.Stderr, "devd-bench: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("devd-bench", flag.ContinueOnError)
	tools := fs.String("tools", strings.Join(knownTools, ","), "comma-separated tools to measure, in order: "+strings.Join(knownTools, ", "))
	services := fs.String("services", "api,notification", "comma-separated services of the example stack to edit")
	fs.IntVar(&o.saves, "saves", minSaves, fmt.Sprintf("measured saves per tool and service (at least %d)", minSaves))
	fs.IntVar(&o.warmups, "warmup", 2, "saves per tool and service before measuring")
	fs.StringVar(&o.devd, "devd", "", "devd binary to measure (default: build ./cmd/devd)")
	devdArgs := fs.String("devd-args", "", "flags added to devd's command line for both devd tools, such as --quiet=10ms")
	fs.StringVar(&o.jsonPath, "json", "", "write the machine, settings and every sample to this file")
	fs.StringVar(&o.saveMode, "save-mode", saveAtomic, "how files are saved: "+saveAtomic+" (temporary file renamed over the target) or "+saveInPlace+" (truncate and write)")
	fs.DurationVar(&o.pollInterval, "poll", 2*time.Millisecond, "interval between two GETs of a service")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 200*time.Millisecond, "timeout of one GET")
	fs.DurationVar(&o.saveTimeout, "save-timeout", 30*time.Second, "how long a save may take to show before it counts as failed")
	// devd's loop guard treats a path that changes within a second after
	// each of 20 restarts in a row as written by the service itself, and
	// then ignores its changes that come right after a restart. Saves are
	// spaced a little more than that second, as a person's are, so the guard
	// never counts them.
	fs.DurationVar(&o.settle, "settle", 1200*time.Millisecond, "how long a service must respond unchanged before the next save")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", 2*time.Minute, "how long a tool may take to start watching")
	fs.BoolVar(&o.verbose, "v", false, "copy the tools' output to stderr")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	o.tools = splitList(*tools)
	for _, t := range o.tools {
		if !slices.Contains(knownTools, t) {
			return o, fmt.Errorf("-tools: unknown tool %q (known: %s)", t, strings.Join(knownTools, ", "))
		}
	}
	o.devdArgs = strings.Fields(*devdArgs)
	o.services = splitList(*services)
	for _, s := range o.services {
		if !slices.ContainsFunc(exampleServices, func(e service) bool { return e.Name == s }) {
			return o, fmt.Errorf("-services: the example stack has no service %q (it has api, notification)", s)
		}
	}
	switch {
	case len(o.tools) == 0:
		return o, errors.New("-tools: name at least one tool")
	case len(o.services) == 0:
		return o, errors.New("-services: name at least one service")
	case slices.Equal(o.tools, []string{toolNodemon}) && !slices.Contains(o.services, "api"):
		return o, errors.New("-services: nodemon is measured on api only")
	case o.saves < minSaves:
		return o, fmt.Errorf("-saves: %d is too few to compute a p90, use at least %d", o.saves, minSaves)
	case o.warmups < 0:
		return o, errors.New("-warmup: must not be negative")
	case o.saveMode != saveAtomic && o.saveMode != saveInPlace:
		return o, fmt.Errorf("-save-mode: %q is neither %s nor %s", o.saveMode, saveAtomic, saveInPlace)
	case o.pollInterval <= 0 || o.requestTimeout <= 0 || o.saveTimeout <= 0 || o.readyTimeout <= 0 || o.settle < 0:
		return o, errors.New("invalid duration: -poll, -request-timeout, -save-timeout and -ready-timeout must be positive, -settle must not be negative")
	}
	return o, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// run sets the stack up, measures every tool, prints the results and
// removes the stack.
func run(opts options) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// A second Ctrl-C ends the benchmark without cleaning up.
		<-ctx.Done()
		stop()
	}()

	repoRoot, err := findRepoRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "devd-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	devdBin := opts.devd
	usesDevd := slices.Contains(opts.tools, toolDevd) || slices.Contains(opts.tools, toolDevdUp)
	if usesDevd && devdBin == "" {
		fmt.Fprintln(os.Stderr, "building devd")
		if devdBin, err = buildDevd(ctx, repoRoot, tmp); err != nil {
			return err
		}
	}
	image, err := nodeImage(ctx, repoRoot)
	if err != nil {
		return err
	}
	nodemonDir, nodemonVersion := "", ""
	if slices.Contains(opts.tools, toolNodemon) {
		if nodemonDir, err = nodemonCacheDir(); err != nil {
			return err
		}
		if nodemonVersion, err = ensureNodemon(ctx, nodemonDir); err != nil {
			return err
		}
	}

	s, err := newStack(repoRoot, tmp, image, nodemonDir)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintf(os.Stderr, "removing stack %s\n", s.Project)
		if derr := s.Down(); derr != nil {
			err = errors.Join(err, derr)
		}
		if slices.Contains(opts.tools, toolDevdUp) {
			err = errors.Join(err, s.RemoveRunDir())
		}
	}()

	r := &results{
		Started: time.Now().UTC(),
		Machine: describeMachine(ctx),
		Settings: settings{
			Tools:          opts.tools,
			Services:       opts.services,
			Saves:          opts.saves,
			Warmups:        opts.warmups,
			SaveMode:       opts.saveMode,
			PollInterval:   opts.pollInterval.String(),
			RequestTimeout: opts.requestTimeout.String(),
			Settle:         opts.settle.String(),
			NodeImage:      image,
			NodemonVersion: nodemonVersion,
		},
	}
	if usesDevd {
		r.Settings.DevdVersion = commandOutput(ctx, devdBin, "version")
	}
	r.Load = append(r.Load, readLoad("start"))
	m := &measurer{
		client:        newHTTPClient(opts.requestTimeout),
		pollInterval:  opts.pollInterval,
		saveTimeout:   opts.saveTimeout,
		settle:        opts.settle,
		settleTimeout: opts.saveTimeout,
		saveMode:      opts.saveMode,
	}

	var errs []error
	for _, name := range opts.tools {
		t := newTool(name, devdBin, opts.devdArgs, s)
		services := slices.DeleteFunc(slices.Clone(opts.services), func(svc string) bool { return !serves(t.Name, svc) })
		if len(services) == 0 {
			fmt.Fprintf(os.Stderr, "skipping %s: it serves none of the services %s\n", name, strings.Join(opts.services, ", "))
			continue
		}
		if err := prepareStack(ctx, s, t); err != nil {
			errs = append(errs, fmt.Errorf("preparing the stack for %s: %w", name, err))
			break
		}
		r.Load = append(r.Load, readLoad("before "+name))
		samples, terr := measureTool(ctx, m, s, t, services, opts)
		r.Samples = append(r.Samples, samples...)
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("interrupted while measuring %s; the results are partial", name))
			break
		}
		if terr != nil {
			errs = append(errs, fmt.Errorf("measuring %s: %w", name, terr))
		}
	}
	r.Load = append(r.Load, readLoad("end"))

	fmt.Println()
	printMachine(os.Stdout, r)
	fmt.Println()
	printTable(os.Stdout, r)
	printRatios(os.Stdout, r)
	printDevdSteps(os.Stdout, r)
	if opts.jsonPath != "" {
		if jerr := writeJSON(opts.jsonPath, r); jerr != nil {
			errs = append(errs, jerr)
		}
	}
	return errors.Join(errs...)
}

// newTool returns the tool called name, measuring the devd binary at
// devdBin with devdArgs added to its command line.
func newTool(name, devdBin string, devdArgs []string, s *stack) tool {
	switch name {
	case toolDevdUp:
		return withDevdArgs(devdUpTool(devdBin), devdArgs)
	case toolDevd:
		return withDevdArgs(devdTool(devdBin), devdArgs)
	case toolNodemon:
		return nodemonTool(s.Files(setupNodemon))
	default:
		return composeWatchTool()
	}
}

// prepareStack gives the tool a stack of its own: it removes what the
// previous tool ran, then starts the stack as the tool needs it, unless the
// tool starts it itself. Each start builds the images again, from the build
// cache after the first.
func prepareStack(ctx context.Context, s *stack, t tool) error {
	fmt.Fprintf(os.Stderr, "removing the containers of stack %s\n", s.Project)
	if err := s.Down(); err != nil {
		return err
	}
	if t.Setup == setupByTool {
		return nil
	}
	fmt.Fprintf(os.Stderr, "starting stack %s in %s for %s\n", s.Project, s.Dir, t.Name)
	return s.Up(ctx, t.Setup)
}

// measureTool starts a tool, times its saves on the services and stops
// it. It returns the samples taken, also when it fails part way.
func measureTool(ctx context.Context, m *measurer, s *stack, t tool, services []string, opts options) (samples []sample, err error) {
	var echo io.Writer
	if opts.verbose {
		echo = os.Stderr
	}
	fmt.Fprintf(os.Stderr, "starting %s\n", t.Name)
	p, err := startTool(t, s, echo)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := p.Stop(); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	if err := p.WaitReady(ctx, opts.readyTimeout); err != nil {
		return nil, err
	}

	// Measuring stops as soon as the tool exits on its own.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-p.Exited():
			cancel(p.ExitError())
		case <-ctx.Done():
		}
	}()

	for _, svc := range services {
		got, err := measureService(ctx, m, s, p, t.Name, svc, opts)
		samples = append(samples, got...)
		if err != nil {
			if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
				err = cause
			}
			return samples, fmt.Errorf("service %s: %w", svc, err)
		}
	}
	return samples, nil
}

// measureService runs the warm-up and measured saves of one tool on one
// service.
func measureService(ctx context.Context, m *measurer, s *stack, p *process, tool, svc string, opts options) ([]sample, error) {
	before, _, err := m.Steady(ctx, s.URL(svc), "")
	if err != nil {
		return nil, err
	}

	var samples []sample
	failures := 0
	total := opts.warmups + opts.saves
	for i := range total {
		warmup := i < opts.warmups
		smp := sample{Tool: tool, Service: svc, Warmup: warmup, Index: i}
		if !warmup {
			smp.Index = i - opts.warmups
		}
		mark := p.KeptCount()
		smp, before, err = m.Save(ctx, s, svc, before, smp)
		if ctx.Err() != nil {
			// The save under way when the run was interrupted is incomplete.
			return samples, ctx.Err()
		}
		// Save returns once the service has been steady for -settle, long
		// after the tool logged the save's steps.
		smp.Devd = parseDevdTimings(p.Kept(mark), svc)
		samples = append(samples, smp)
		report(smp)
		if err != nil {
			return samples, err
		}
		if smp.Error == "" {
			failures = 0
			continue
		}
		failures++
		if failures >= maxConsecutiveFailures {
			return samples, fmt.Errorf("%d saves in a row failed, last: %s", failures, smp.Error)
		}
	}
	return samples, nil
}

// report prints one line of progress per save.
func report(s sample) {
	kind := "save"
	if s.Warmup {
		kind = "warm-up"
	}
	if s.Error != "" {
		fmt.Fprintf(os.Stderr, "  %s %s %s %d: failed: %s\n", s.Tool, s.Service, kind, s.Index, s.Error)
		return
	}
	steps := ""
	if d := s.Devd; d != nil {
		steps = fmt.Sprintf("; devd: batch waited %.0f ms, sync %.0f ms, restart %.0f ms", d.WaitedMS, d.SyncMS, d.RestartMS)
	}
	fmt.Fprintf(os.Stderr, "  %s %s %s %d: %.1f ms (%d polls, last one %.1f ms, restarted %t, extra restarts %d%s)\n",
		s.Tool, s.Service, kind, s.Index, s.LatencyMS, s.Polls, s.LastPollMS, s.Restarted, s.ExtraRestarts, steps)
}
