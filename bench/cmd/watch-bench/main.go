// Command watch-bench measures the cost of watching a large source tree with
// the watch package: the time New takes, the resident memory after garbage
// collection, and the CPU time used while nothing changes. It measures
// inotify and polling at the given intervals, each in a process of its own so
// that one mode's memory does not count against another.
//
// The tree is generated in a temporary folder unless -dir names one: -files
// files spread evenly over -folders folders, and a node_modules folder with
// -skipped files, which the Watcher skips as devd does.
//
// Reproduce from the repository root:
//
//	go run ./bench/cmd/watch-bench
//	go run ./bench/cmd/watch-bench -idle 10s -modes native,poll=1s
//	go run ./bench/cmd/watch-bench -modes native -max-watches 1000
//
// With -max-watches, each child process runs in a user namespace of its own
// where it lowers its inotify watch limit, so the Watcher polls the folders
// beyond it. The limit of the machine is left alone.
//
// The program prints numbers and asserts nothing: they depend on the
// machine.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// options are the command-line flags.
type options struct {
	dir     string
	files   int
	folders int
	skipped int
	idle    time.Duration
	modes   []string
	// maxWatches is the watch limit of the child processes, 0 to keep the
	// machine's.
	maxWatches int
	child      string // the mode to measure, set in the child processes
}

func main() {
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "watch-bench:", err)
		os.Exit(2)
	}
	if opts.child != "" {
		err = runChild(opts)
	} else {
		err = run(opts)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "watch-bench:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var opts options
	var modes string
	fs := flag.NewFlagSet("watch-bench", flag.ContinueOnError)
	fs.StringVar(&opts.dir, "dir", "", "folder holding the tree, generated when empty (default: a temporary folder, removed at the end)")
	fs.IntVar(&opts.files, "files", 100000, "files outside skipped folders")
	fs.IntVar(&opts.folders, "folders", 2000, "folders outside skipped folders")
	fs.IntVar(&opts.skipped, "skipped", 50000, "files in node_modules, which is skipped")
	fs.DurationVar(&opts.idle, "idle", 30*time.Second, "how long CPU time is measured while nothing changes")
	fs.StringVar(&modes, "modes", "native,poll=1s,poll=2s", "comma-separated modes: native, or poll=INTERVAL")
	fs.IntVar(&opts.maxWatches, "max-watches", 0, "inotify watch limit of the measuring processes, set in a user namespace of their own (0: the machine's)")
	fs.StringVar(&opts.child, "child", "", "measure one mode in this process (used by the program itself)")
	if err := fs.Parse(args); err != nil {
		return opts, err
	}

	opts.modes = strings.Split(modes, ",")
	for _, m := range append([]string{opts.child}, opts.modes...) {
		if _, err := parseMode(m); err != nil && m != "" {
			return opts, err
		}
	}
	if opts.files < 0 || opts.folders < 1 || opts.skipped < 0 || opts.maxWatches < 0 {
		return opts, fmt.Errorf("invalid tree size: -files %d, -folders %d, -skipped %d", opts.files, opts.folders, opts.skipped)
	}
	return opts, nil
}

// parseMode returns the polling interval of mode, 0 for native.
func parseMode(mode string) (time.Duration, error) {
	if mode == "native" {
		return 0, nil
	}
	interval, ok := strings.CutPrefix(mode, "poll=")
	if !ok {
		return 0, fmt.Errorf("invalid mode %q: want native or poll=INTERVAL", mode)
	}
	d, err := time.ParseDuration(interval)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid polling interval in mode %q", mode)
	}
	return d, nil
}

// run generates the tree, measures each mode in a child process and prints
// a table.
func run(opts options) error {
	dir := opts.dir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "watch-bench-")
		if err != nil {
			return fmt.Errorf("creating tree folder: %w", err)
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	start := time.Now()
	tree, err := generateTree(dir, opts.files, opts.folders, opts.skipped)
	if err != nil {
		return err
	}
	fmt.Printf("tree: %s, %d files in %d folders, and %d files in node_modules (ready in %v)\n",
		tree.root, opts.files, opts.folders, opts.skipped, time.Since(start).Round(time.Millisecond))
	fmt.Printf("fs.inotify.max_user_watches = %s, max_user_instances = %s, %d CPUs\n",
		readProc("/proc/sys/fs/inotify/max_user_watches"), readProc("/proc/sys/fs/inotify/max_user_instances"),
		runtime.NumCPU())
	if opts.maxWatches > 0 {
		fmt.Printf("watch limit of the measuring processes: %d\n", opts.maxWatches)
	}
	fmt.Printf("idle CPU is measured over %v; 100%% is one core\n\n", opts.idle)

	fmt.Printf("%-10s %10s %8s %7s %9s %10s %9s %10s %8s\n",
		"mode", "start", "watches", "polled", "RSS MB", "idle CPU", "scans", "scan avg", "latency")
	for _, mode := range opts.modes {
		res, err := measureInChild(opts, tree.root, mode)
		if err != nil {
			return err
		}
		fmt.Printf("%-10s %10v %8d %7d %9.1f %9.3f%% %9d %10v %8v\n",
			mode, res.Start.Round(time.Millisecond), res.Watches, res.Polled, float64(res.RSSKB)/1024,
			res.IdleCPUPercent, res.Scans, res.ScanAvg.Round(100*time.Microsecond), res.Latency.Round(100*time.Microsecond))
		if res.IdleEvents > 0 {
			fmt.Printf("%-10s %d paths reported while nothing changed\n", "", res.IdleEvents)
		}
	}
	return nil
}

// measureInChild runs this program with -child mode and decodes its result.
func measureInChild(opts options, root, mode string) (result, error) {
	self, err := os.Executable()
	if err != nil {
		return result{}, fmt.Errorf("finding this program: %w", err)
	}
	cmd := exec.Command(self, "-child", mode, "-dir", root, "-folders", strconv.Itoa(opts.folders),
		"-idle", opts.idle.String(), "-max-watches", strconv.Itoa(opts.maxWatches))
	cmd.Stderr = os.Stderr
	if opts.maxWatches > 0 {
		if err := inOwnUserNamespace(cmd); err != nil {
			return result{}, err
		}
	}
	out, err := cmd.Output()
	if err != nil {
		return result{}, fmt.Errorf("measuring %s: %w", mode, err)
	}
	var res result
	if err := json.Unmarshal(out, &res); err != nil {
		return result{}, fmt.Errorf("decoding result of %s: %w", mode, err)
	}
	return res, nil
}

func readProc(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
