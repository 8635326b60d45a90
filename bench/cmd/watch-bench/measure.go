package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/devdtool/devd/watch"
	"github.com/hashicorp/go-hclog"
)

// userHZ is the unit of the CPU times in /proc/self/stat: clock ticks of
// 1/100 s on Linux, whatever the kernel's internal tick.
const userHZ = 100

// result is the measurement of one mode by a child process.
type result struct {
	Start          time.Duration // New, which watches or takes the first snapshot
	Watches        int           // inotify watches held
	Polled         int           // paths polled, from Watcher.Polling
	RSSKB          int           // VmRSS after garbage collection, in KiB
	IdleCPUPercent float64       // CPU time while idle, in percent of one core
	IdleEvents     int           // paths reported while idle
	Scans          int           // polling scans while idle
	ScanAvg        time.Duration // mean duration of a scan
	Latency        time.Duration // from writing the probe file to its report
}

// runChild measures opts.child on the tree at opts.dir and writes the result
// as JSON to standard output.
func runChild(opts options) error {
	interval, err := parseMode(opts.child)
	if err != nil {
		return err
	}
	if opts.maxWatches > 0 {
		// The process runs in a user namespace of its own, whose limit
		// applies to it on top of the machine's.
		limit := []byte(strconv.Itoa(opts.maxWatches))
		if err := os.WriteFile("/proc/sys/user/max_inotify_watches", limit, 0o644); err != nil {
			return fmt.Errorf("lowering the watch limit: %w", err)
		}
	}
	t := tree{root: opts.dir, probe: probePath(opts.dir, opts.folders)}
	scans := &scanLog{}
	logger := hclog.New(&hclog.LoggerOptions{Output: scans, Level: hclog.Trace, JSONFormat: true})

	runtime.GC()
	begin := time.Now()
	w, err := watch.New(watch.Config{
		Roots:  []string{t.root},
		Skip:   skipLikeDevd,
		Logger: logger,
		Poll:   interval,
	})
	if err != nil {
		return fmt.Errorf("watching %s: %w", t.root, err)
	}
	res := result{Start: time.Since(begin), Watches: w.WatchCount(), Polled: len(w.Polling())}

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	runtime.GC()
	debug.FreeOSMemory()
	if res.RSSKB, err = residentKB(); err != nil {
		return err
	}

	// Nothing changes while CPU time is measured. Reports that arrive are
	// counted: there should be none.
	cpuBefore, err := cpuTicks()
	if err != nil {
		return err
	}
	idleEnd := time.After(opts.idle)
idle:
	for {
		select {
		case <-w.Events():
			res.IdleEvents++
		case <-idleEnd:
			break idle
		}
	}
	cpuAfter, err := cpuTicks()
	if err != nil {
		return err
	}
	res.IdleCPUPercent = float64(cpuAfter-cpuBefore) / userHZ / opts.idle.Seconds() * 100
	res.Scans, res.ScanAvg = scans.summary()

	if res.Latency, err = probeLatency(w, t.probe); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// probeLatency writes probe and returns how long it takes to be reported.
func probeLatency(w *watch.Watcher, probe string) (time.Duration, error) {
	begin := time.Now()
	if err := os.WriteFile(probe, []byte(begin.String()), 0o644); err != nil {
		return 0, fmt.Errorf("writing probe file: %w", err)
	}
	timeout := time.After(time.Minute)
	for {
		select {
		case p := <-w.Events():
			if p == probe {
				return time.Since(begin), nil
			}
		case <-timeout:
			return 0, fmt.Errorf("change of %s not reported within a minute", probe)
		}
	}
}

// skipLikeDevd leaves out what devd always ignores, and node_modules.
func skipLikeDevd(path string, isDir bool) bool {
	return watch.IsDefaultIgnored(path) || filepath.Base(path) == "node_modules"
}

// residentKB returns VmRSS from /proc/self/status.
func residentKB() (int, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("reading memory use: %w", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("reading memory use: no VmRSS in /proc/self/status")
}

// cpuTicks returns utime+stime from /proc/self/stat, in 1/userHZ s.
func cpuTicks() (int64, error) {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, fmt.Errorf("reading CPU time: %w", err)
	}
	// The command name in parentheses may contain spaces, so fields are
	// counted from its end: utime and stime are fields 14 and 15.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	if len(fields) < 13 {
		return 0, fmt.Errorf("reading CPU time: short /proc/self/stat")
	}
	var total int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading CPU time: %w", err)
		}
		total += n
	}
	return total, nil
}

// scanLog reads the Watcher's JSON logs and sums the durations of its scans.
type scanLog struct {
	mu    sync.Mutex
	count int
	total time.Duration
}

var _ io.Writer = (*scanLog)(nil)

func (s *scanLog) Write(p []byte) (int, error) {
	var line struct {
		Message  string `json:"@message"`
		Duration any    `json:"scan_duration"`
	}
	if err := json.Unmarshal(p, &line); err == nil && line.Message == "polled" {
		s.mu.Lock()
		s.count++
		s.total += toDuration(line.Duration)
		s.mu.Unlock()
	}
	if strings.Contains(string(p), `"@level":"warn"`) || strings.Contains(string(p), `"@level":"error"`) {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

func (s *scanLog) summary() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 {
		return 0, 0
	}
	return s.count, s.total / time.Duration(s.count)
}

// toDuration converts a duration logged as JSON, a number of nanoseconds or
// a string such as "1.5ms", to a time.Duration.
func toDuration(v any) time.Duration {
	switch d := v.(type) {
	case float64:
		return time.Duration(d)
	case string:
		parsed, _ := time.ParseDuration(d)
		return parsed
	}
	return 0
}
