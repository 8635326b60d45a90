// Command checkout-bench measures how long a large `git checkout` in a
// synced service takes to reach its container, for devd and for
// `docker compose watch`, in the same run on the same copy of the example
// stack.
//
// The notification service of examples/microservices is copied into a
// temporary folder and brought up under a project name, container names and
// loopback ports of its own. Its folder becomes a git repository with two
// branches that differ in -files files spread over -folders folders. Each
// tool then watches the stack while the branches are checked out back and
// forth.
//
// For each checkout the program reports two times from the start of
// `git checkout`: until the container's files equal the host's, read
// every -poll (see -read), and until
// the service responds with the branch's message. It prints numbers and
// does not compare them with targets.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Tool names accepted by -tools.
const (
	toolDevd         = "devd"
	toolComposeWatch = "compose-watch"
	// toolDevdUp runs devd up, which recreates the service with devd's
	// supervisor and copies through it. It leaves the supervised
	// container behind, so the stack is started again after it.
	toolDevdUp = "devd-up"
)

// options are the command-line settings.
type options struct {
	files     int
	folders   int
	rounds    int
	poll      time.Duration
	read      string
	timeout   time.Duration
	tools     []string
	devd      string
	devdLevel string
	nodeImage string
	keep      bool
	verbose   bool
}

func main() {
	var o options
	var tools string
	flag.IntVar(&o.files, "files", 2000, "files the checkout changes or adds in the notification service")
	flag.IntVar(&o.folders, "folders", 50, "folders those files are spread over")
	flag.IntVar(&o.rounds, "rounds", 3, "checkouts back and forth per tool (each round is two checkouts)")
	flag.DurationVar(&o.poll, "poll", 20*time.Millisecond, "interval between two reads of the container's files")
	flag.StringVar(&o.read, "read", readAuto, "how to read the container's files: "+readDirect+" (from the engine's overlay2 mount, which needs a local engine and root), "+readEngine+" (docker cp), or "+readAuto)
	flag.DurationVar(&o.timeout, "timeout", 3*time.Minute, "longest wait for one checkout to reach the container")
	flag.StringVar(&tools, "tools", toolDevd+","+toolComposeWatch+","+toolDevdUp, "tools to measure, in this order")
	flag.StringVar(&o.devd, "devd", "", "devd binary to run (default: build ./cmd/devd with CGO_ENABLED=0)")
	flag.StringVar(&o.devdLevel, "devd-log-level", "info", "devd's log level; with -v, debug shows each batch and its wait")
	flag.StringVar(&o.nodeImage, "node-image", os.Getenv("DEVD_NODE_IMAGE"), "Node.js base image (default: $DEVD_NODE_IMAGE, else scripts/node-image.sh)")
	flag.BoolVar(&o.keep, "keep", false, "leave the stack and its folder in place at the end")
	flag.BoolVar(&o.verbose, "v", false, "show progress and the tools' output")
	flag.Parse()

	for _, t := range strings.Split(tools, ",") {
		switch t = strings.TrimSpace(t); t {
		case toolDevd, toolComposeWatch, toolDevdUp:
			o.tools = append(o.tools, t)
		case "":
		default:
			fmt.Fprintf(os.Stderr, "checkout-bench: unknown tool %q in -tools; use %s, %s or %s\n", t, toolDevd, toolComposeWatch, toolDevdUp)
			os.Exit(2)
		}
	}
	if o.read != readAuto && o.read != readDirect && o.read != readEngine {
		fmt.Fprintf(os.Stderr, "checkout-bench: unknown -read %q; use %s, %s or %s\n", o.read, readAuto, readDirect, readEngine)
		os.Exit(2)
	}
	if len(o.tools) == 0 || o.files < 1 || o.folders < 1 || o.rounds < 1 || o.poll <= 0 {
		fmt.Fprintln(os.Stderr, "checkout-bench: -tools, -files, -folders, -rounds and -poll need positive values")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "checkout-bench:", err)
		if errors.Is(ctx.Err(), context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// run sets the stack up, measures each tool and prints the report. The
// stack is removed on every path out, unless -keep.
func run(ctx context.Context, o options) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	machine := describeMachine(ctx, root)

	if o.nodeImage == "" {
		if o.nodeImage, err = nodeImage(ctx, root); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp("", "checkout-bench-")
	if err != nil {
		return fmt.Errorf("creating a temporary folder: %w", err)
	}
	if o.keep {
		fmt.Println("stack folder:", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	if o.devd == "" && (contains(o.tools, toolDevd) || contains(o.tools, toolDevdUp)) {
		if o.devd, err = buildDevd(ctx, root, tmp); err != nil {
			return err
		}
	}

	s, err := newStack(ctx, root, tmp, o)
	if err != nil {
		return err
	}
	if !o.keep {
		defer s.down()
	}
	progress(o, "bringing up %s", s.project)
	if err := s.up(ctx); err != nil {
		return err
	}

	id, err := s.containerID(ctx)
	if err != nil {
		return err
	}
	if machine.digestRead, err = digestCost(ctx, s.files, id); err != nil {
		return err
	}

	results := make(map[string][]sample)
	for _, tool := range o.tools {
		samples, err := measureTool(ctx, s, tool, o)
		results[tool] = samples
		if err != nil {
			return fmt.Errorf("measuring %s: %w", tool, err)
		}
	}
	machine.loadAfter = loadAverage()
	machine.readHow = s.files.method()
	printReport(os.Stdout, machine, o, results)
	return nil
}

// progress prints a line with -v.
func progress(o options, format string, args ...any) {
	if o.verbose {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
