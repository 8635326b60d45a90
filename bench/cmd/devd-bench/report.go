package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/devdtool/devd/watch"
)

// machine describes where the benchmark ran.
type machine struct {
	CPUs           int    `json:"cpus"`
	CPUModel       string `json:"cpu_model"`
	MemoryMB       int    `json:"memory_mb"`
	Kernel         string `json:"kernel"`
	EngineVersion  string `json:"engine_version"`
	ComposeVersion string `json:"compose_version"`
	GoVersion      string `json:"go_version"`
}

// describeMachine collects facts about the machine. Fields it cannot read
// stay empty.
func describeMachine(ctx context.Context) machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.MemoryMB = memTotalMB()
	m.CPUModel = cpuModel()
	m.EngineVersion = commandOutput(ctx, "docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})")
	m.ComposeVersion = commandOutput(ctx, "docker", "compose", "version")
	return m
}

// memTotalMB reads MemTotal from /proc/meminfo, or returns 0.
func memTotalMB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb int
		if _, err := fmt.Sscanf(sc.Text(), "MemTotal: %d kB", &kb); err == nil {
			return kb / 1024
		}
	}
	return 0
}

// cpuModel reads the first "model name" from /proc/cpuinfo, or returns "".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, value, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "model name" {
			return strings.TrimSpace(value)
		}
	}
	return ""
}

// loadSample is the system's load average at one point of the run. Other
// work on the machine shows there; the benchmark's own polling adds little.
type loadSample struct {
	At       string  `json:"at"`
	Load1    float64 `json:"load1"`
	Load5    float64 `json:"load5"`
	Load15   float64 `json:"load15"`
	Runnable string  `json:"runnable"` // runnable and total scheduling entities
}

// readLoad reads /proc/loadavg. Fields it cannot read stay zero.
func readLoad(at string) loadSample {
	l := loadSample{At: at}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		_, _ = fmt.Sscanf(string(b), "%f %f %f %s", &l.Load1, &l.Load5, &l.Load15, &l.Runnable)
	}
	return l
}

func commandOutput(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// settings are the benchmark's options, as recorded with the results.
type settings struct {
	Tools          []string `json:"tools"`
	Services       []string `json:"services"`
	Saves          int      `json:"saves"`
	Warmups        int      `json:"warmups"`
	SaveMode       string   `json:"save_mode"`
	PollInterval   string   `json:"poll_interval"`
	RequestTimeout string   `json:"request_timeout"`
	Settle         string   `json:"settle"`
	NodeImage      string   `json:"node_image"`
	DevdVersion    string   `json:"devd_version,omitempty"`
	NodemonVersion string   `json:"nodemon_version,omitempty"`
}

// results is everything one run measured.
type results struct {
	Started  time.Time    `json:"started"`
	Machine  machine      `json:"machine"`
	Settings settings     `json:"settings"`
	Load     []loadSample `json:"load"`
	Samples  []sample     `json:"samples"`
}

// latencies returns the latencies of the measured, successful saves of a
// tool on a service, and the number of measured saves that failed.
func (r *results) latencies(tool, svc string) (ok []time.Duration, failed int) {
	for _, s := range r.Samples {
		if s.Tool != tool || s.Service != svc || s.Warmup {
			continue
		}
		if s.Error != "" {
			failed++
			continue
		}
		ok = append(ok, s.Latency())
	}
	return ok, failed
}

// extraRestarts counts the further restarts after the measured saves of a
// tool on a service.
func (r *results) extraRestarts(tool, svc string) int {
	n := 0
	for _, s := range r.Samples {
		if s.Tool == tool && s.Service == svc && !s.Warmup {
			n += s.ExtraRestarts
		}
	}
	return n
}

// printMachine writes what the run was measured on, with the load average
// at the start, before each tool and at the end.
func printMachine(w io.Writer, r *results) {
	m, st := r.Machine, r.Settings
	fmt.Fprintf(w, "machine: %d CPUs (%s), %d MB memory, Linux %s\n", m.CPUs, m.CPUModel, m.MemoryMB, m.Kernel)
	fmt.Fprintf(w, "docker engine %s; %s; %s\n", m.EngineVersion, m.ComposeVersion, m.GoVersion)
	if st.DevdVersion != "" {
		fmt.Fprintf(w, "%s\n", st.DevdVersion)
	}
	if st.NodemonVersion != "" {
		fmt.Fprintf(w, "nodemon %s\n", st.NodemonVersion)
	}
	fmt.Fprintf(w, "node image %s; %d measured saves per service after %d warm-ups; %s saves; polling every %s; settle %s\n",
		st.NodeImage, st.Saves, st.Warmups, st.SaveMode, st.PollInterval, st.Settle)
	var loads []string
	for _, l := range r.Load {
		loads = append(loads, fmt.Sprintf("%s %.2f %.2f %.2f", l.At, l.Load1, l.Load5, l.Load15))
	}
	fmt.Fprintf(w, "load average (1, 5, 15 min): %s\n", strings.Join(loads, "; "))
}

// printTable writes one row per tool and service that the tool serves.
func printTable(w io.Writer, r *results) {
	const row = "%-14s %-13s %3s %6s %10s %9s %9s %9s %15s\n"
	fmt.Fprintf(w, row, "tool", "service", "n", "failed", "median ms", "p90 ms", "min ms", "max ms", "extra restarts")
	for _, tool := range r.Settings.Tools {
		for _, svc := range r.Settings.Services {
			if !serves(tool, svc) {
				continue
			}
			lat, failed := r.latencies(tool, svc)
			s := summarize(lat)
			fmt.Fprintf(w, row, tool, svc, strconv.Itoa(s.N), strconv.Itoa(failed),
				fmtMS(s.Median), fmtMS(s.P90), fmtMS(s.Min), fmtMS(s.Max), strconv.Itoa(r.extraRestarts(tool, svc)))
		}
	}
}

// ratioBases are the tools that the others are compared with, in order.
var ratioBases = []string{toolDevdUp, toolDevd}

// Targets that the results are reported against. They are goals, not
// pass or fail criteria of the benchmark.
const (
	// targetUpVsNodemon is the most devd up's median on the bind-mounted
	// api may be, as a multiple of nodemon's.
	targetUpVsNodemon = 1.25
	// targetWatchVsUp is the least Compose watch's median on the synced
	// notification should be, as a multiple of devd up's.
	targetWatchVsUp = 15.0
)

// printRatios writes, per service, the ratio of each tool's median to the
// median of devd up and of plain devd, then the results against the
// targets. A ratio needs a successful save of both tools.
func printRatios(w io.Writer, r *results) {
	fmt.Fprintln(w)
	for _, svc := range r.Settings.Services {
		for _, base := range ratioBases {
			for _, other := range r.Settings.Tools {
				// devd-up/devd is printed, devd/devd-up is not.
				if i := slices.Index(ratioBases, other); i >= 0 && i <= slices.Index(ratioBases, base) {
					continue
				}
				if q, ok := r.medianRatio(other, base, svc); ok {
					fmt.Fprintf(w, "%s: %s/%s median ratio %.2fx\n", svc, other, base, q)
				}
			}
		}
	}

	if q, ok := r.medianRatio(toolDevdUp, toolNodemon, "api"); ok {
		fmt.Fprintf(w, "target: devd-up's median on api at most %.2fx nodemon's: %.2fx (%s)\n", targetUpVsNodemon, q, metText(q <= targetUpVsNodemon))
	}
	if q, ok := r.medianRatio(toolComposeWatch, toolDevdUp, "notification"); ok {
		fmt.Fprintf(w, "target: compose-watch's median on notification at least %.0fx devd-up's: %.2fx (%s)\n", targetWatchVsUp, q, metText(q >= targetWatchVsUp))
	}
}

// medianRatio returns the median of tool a on svc divided by the median
// of tool b, and false when either has no successful measured save.
func (r *results) medianRatio(a, b, svc string) (float64, bool) {
	if !slices.Contains(r.Settings.Tools, a) || !slices.Contains(r.Settings.Tools, b) || !slices.Contains(r.Settings.Services, svc) {
		return 0, false
	}
	la, _ := r.latencies(a, svc)
	lb, _ := r.latencies(b, svc)
	if len(la) == 0 || len(lb) == 0 {
		return 0, false
	}
	return ratio(median(la), median(lb)), true
}

func metText(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}

// printDevdSteps writes, for each devd tool and service, the medians of
// the steps devd timed in its log, and what the latency would become with
// another quiet period.
func printDevdSteps(w io.Writer, r *results) {
	type rowData struct {
		tool, svc string
		steps     stepSummary
	}
	var rows []rowData
	for _, tool := range r.Settings.Tools {
		for _, svc := range r.Settings.Services {
			if st, ok := r.devdSteps(tool, svc); ok {
				rows = append(rows, rowData{tool, svc, st})
			}
		}
	}
	if len(rows) == 0 {
		return
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "devd's steps, medians in ms (rest = latency - batch wait - sync - restart):")
	const row = "%-10s %-13s %3s %8s %10s %9s %6s %8s %6s %6s %10s\n"
	fmt.Fprintf(w, row, "tool", "service", "n", "latency", "batch wait", "wait p90", "sync", "restart", "stop", "rest", "wait share")
	for _, d := range rows {
		st := d.steps
		fmt.Fprintf(w, row, d.tool, d.svc, strconv.Itoa(st.N), fmtMS(st.Latency), fmtMS(st.Waited), fmtMS(st.WaitedP90),
			fmtMS(st.Sync), fmtMS(st.Restart), fmtMS(st.Stop), fmtMS(st.Rest), fmt.Sprintf("%.0f%%", 100*ratio(st.Waited, st.Latency)))
	}

	fmt.Fprintf(w, "\nestimated medians in ms with another quiet period (devd's default is %s), assuming the rest stays as measured:\n", watch.DefaultQuiet)
	header := fmt.Sprintf("%-10s %-13s", "tool", "service")
	for _, q := range quietPeriods {
		header += fmt.Sprintf(" %8s", q)
	}
	fmt.Fprintln(w, header)
	for _, d := range rows {
		line := fmt.Sprintf("%-10s %-13s", d.tool, d.svc)
		for _, q := range quietPeriods {
			line += fmt.Sprintf(" %8s", fmtMS(d.steps.Latency-watch.DefaultQuiet+q))
		}
		fmt.Fprintln(w, line)
	}
}

// quietPeriods are the quiet periods the estimate is printed for.
var quietPeriods = []time.Duration{10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond}

// stepSummary holds the medians of the steps devd timed for a tool on a
// service, over the measured, successful saves that devd logged.
type stepSummary struct {
	N         int
	Latency   time.Duration
	Waited    time.Duration
	WaitedP90 time.Duration
	Sync      time.Duration
	Restart   time.Duration
	Stop      time.Duration
	Rest      time.Duration
}

// devdSteps summarizes what devd logged about the measured, successful
// saves of a tool on a service. It returns false when devd logged nothing.
func (r *results) devdSteps(tool, svc string) (stepSummary, bool) {
	var lat, waited, syncs, restarts, stops, rest []time.Duration
	for _, s := range r.Samples {
		if s.Tool != tool || s.Service != svc || s.Warmup || s.Error != "" || s.Devd == nil {
			continue
		}
		d := s.Devd
		lat = append(lat, s.Latency())
		waited = append(waited, msDuration(d.WaitedMS))
		syncs = append(syncs, msDuration(d.SyncMS))
		restarts = append(restarts, msDuration(d.RestartMS))
		stops = append(stops, msDuration(d.StopMS))
		rest = append(rest, s.Latency()-msDuration(d.WaitedMS+d.SyncMS+d.RestartMS))
	}
	if len(lat) == 0 {
		return stepSummary{}, false
	}
	return stepSummary{
		N:         len(lat),
		Latency:   median(lat),
		Waited:    median(waited),
		WaitedP90: percentile(waited, 90),
		Sync:      median(syncs),
		Restart:   median(restarts),
		Stop:      median(stops),
		Rest:      median(rest),
	}, true
}

// msDuration converts fractional milliseconds to a duration.
func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond))
}

// fmtMS formats a duration in milliseconds with one decimal, or "-" for
// a zero duration, which only an empty summary has.
func fmtMS(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
}

// writeJSON writes the results to path.
func writeJSON(path string, r *results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the results: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the results: %w", err)
	}
	return nil
}
