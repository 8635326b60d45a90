// Command devd-bench measures how long a saved source file takes to reach
// the running code of a Docker Compose service. A figure is the time from
// the start of a save of message.js on the host to the first HTTP response
// of the service that carries the new text. It measures devd and
// `docker compose watch` in the same run, on the same copy of
// examples/microservices:
//
//   - api has its source bind-mounted, and both tools restart it. The
//     benchmark adds a develop.watch restart trigger for Compose watch.
//   - notification has its source copied into the image, and both tools
//     sync the file and restart it (its develop.watch sync+restart).
//
// The stack is copied into a temporary folder and brought up with
// `docker compose up` under a project name, container names and loopback
// ports of its own. Each tool is started in turn and waited for until it
// logs that it watches. It then gets warm-up saves and -saves timed saves
// per service. Between two saves the service must respond unchanged for
// -settle, so that restarts never overlap. The stack is removed at the end,
// also after an error or Ctrl-C.
//
// Reproduce from the repository root, with a Docker engine and the
// docker compose plugin:
//
//	make bench
//	go run ./bench/cmd/devd-bench -saves 20 -json bench.json
//	go run ./bench/cmd/devd-bench -tools compose-watch
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
	tools := fs.String("tools", toolDevd+","+toolComposeWatch, "comma-separated tools to measure, in order: "+toolDevd+", "+toolComposeWatch)
	services := fs.String("services", "api,notification", "comma-separated services of the example stack to edit")
	fs.IntVar(&o.saves, "saves", minSaves, fmt.Sprintf("measured saves per tool and service (at least %d)", minSaves))
	fs.IntVar(&o.warmups, "warmup", 2, "saves per tool and service before measuring")
	fs.StringVar(&o.devd, "devd", "", "devd binary to measure (default: build ./cmd/devd)")
	fs.StringVar(&o.jsonPath, "json", "", "write the machine, settings and every sample to this file")
	fs.StringVar(&o.saveMode, "save-mode", saveAtomic, "how files are saved: "+saveAtomic+" (temporary file renamed over the target) or "+saveInPlace+" (truncate and write)")
	fs.DurationVar(&o.pollInterval, "poll", 2*time.Millisecond, "interval between two GETs of a service")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 200*time.Millisecond, "timeout of one GET")
	fs.DurationVar(&o.saveTimeout, "save-timeout", 30*time.Second, "how long a save may take to show before it counts as failed")
	// devd treats a change that comes within a second of each of ten restarts
	// in a row as a service rewriting its own files, so saves are spaced a
	// little more than that, as a person's are.
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
		if t != toolDevd && t != toolComposeWatch {
			return o, fmt.Errorf("-tools: unknown tool %q (known: %s, %s)", t, toolDevd, toolComposeWatch)
		}
	}
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
	if slices.Contains(opts.tools, toolDevd) && devdBin == "" {
		fmt.Fprintln(os.Stderr, "building devd")
		if devdBin, err = buildDevd(ctx, repoRoot, tmp); err != nil {
			return err
		}
	}
	image, err := nodeImage(ctx, repoRoot)
	if err != nil {
		return err
	}

	s, err := newStack(repoRoot, tmp, image)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Fprintf(os.Stderr, "removing stack %s\n", s.Project)
		if derr := s.Down(); derr != nil {
			err = errors.Join(err, derr)
		}
	}()
	fmt.Fprintf(os.Stderr, "starting stack %s in %s\n", s.Project, s.Dir)
	if err := s.Up(ctx); err != nil {
		return err
	}

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
		},
	}
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
		t := composeWatchTool()
		if name == toolDevd {
			t = devdTool(devdBin)
		}
		samples, terr := measureTool(ctx, m, s, t, opts)
		r.Samples = append(r.Samples, samples...)
		if ctx.Err() != nil {
			errs = append(errs, fmt.Errorf("interrupted while measuring %s; the results are partial", name))
			break
		}
		if terr != nil {
			errs = append(errs, fmt.Errorf("measuring %s: %w", name, terr))
		}
	}

	fmt.Println()
	printMachine(os.Stdout, r.Machine, r.Settings)
	fmt.Println()
	printTable(os.Stdout, r)
	if opts.jsonPath != "" {
		if jerr := writeJSON(opts.jsonPath, r); jerr != nil {
			errs = append(errs, jerr)
		}
	}
	return errors.Join(errs...)
}

// measureTool starts a tool, times its saves on every service and stops
// it. It returns the samples taken, also when it fails part way.
func measureTool(ctx context.Context, m *measurer, s *stack, t tool, opts options) (samples []sample, err error) {
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

	for _, svc := range opts.services {
		got, err := measureService(ctx, m, s, t.Name, svc, opts)
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
func measureService(ctx context.Context, m *measurer, s *stack, tool, svc string, opts options) ([]sample, error) {
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
		smp, before, err = m.Save(ctx, s, svc, before, smp)
		if ctx.Err() != nil {
			// The save under way when the run was interrupted is incomplete.
			return samples, ctx.Err()
		}
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
	fmt.Fprintf(os.Stderr, "  %s %s %s %d: %.1f ms (%d polls, last one %.1f ms, restarted %t, extra restarts %d)\n",
		s.Tool, s.Service, kind, s.Index, s.LatencyMS, s.Polls, s.LastPollMS, s.Restarted, s.ExtraRestarts)
}
