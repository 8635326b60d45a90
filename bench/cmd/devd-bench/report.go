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
)

// machine describes where the benchmark ran.
type machine struct {
	CPUs           int    `json:"cpus"`
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
}

// results is everything one run measured.
type results struct {
	Started  time.Time `json:"started"`
	Machine  machine   `json:"machine"`
	Settings settings  `json:"settings"`
	Samples  []sample  `json:"samples"`
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

// printMachine writes what the run was measured on.
func printMachine(w io.Writer, m machine, st settings) {
	fmt.Fprintf(w, "machine: %d CPUs, %d MB memory, Linux %s\n", m.CPUs, m.MemoryMB, m.Kernel)
	fmt.Fprintf(w, "docker engine %s; %s; %s\n", m.EngineVersion, m.ComposeVersion, m.GoVersion)
	fmt.Fprintf(w, "node image %s; %d measured saves per service after %d warm-ups; %s saves; polling every %s\n",
		st.NodeImage, st.Saves, st.Warmups, st.SaveMode, st.PollInterval)
}

// printTable writes one row per tool and service, then the ratio of the
// medians of Compose watch to devd per service when both ran.
func printTable(w io.Writer, r *results) {
	const row = "%-14s %-13s %3s %6s %10s %9s %9s %9s %15s\n"
	fmt.Fprintf(w, row, "tool", "service", "n", "failed", "median ms", "p90 ms", "min ms", "max ms", "extra restarts")
	for _, tool := range r.Settings.Tools {
		for _, svc := range r.Settings.Services {
			lat, failed := r.latencies(tool, svc)
			s := summarize(lat)
			fmt.Fprintf(w, row, tool, svc, strconv.Itoa(s.N), strconv.Itoa(failed),
				fmtMS(s.Median), fmtMS(s.P90), fmtMS(s.Min), fmtMS(s.Max), strconv.Itoa(r.extraRestarts(tool, svc)))
		}
	}

	if !slices.Contains(r.Settings.Tools, toolDevd) || !slices.Contains(r.Settings.Tools, toolComposeWatch) {
		return
	}
	fmt.Fprintln(w)
	for _, svc := range r.Settings.Services {
		d, _ := r.latencies(toolDevd, svc)
		c, _ := r.latencies(toolComposeWatch, svc)
		if len(d) == 0 || len(c) == 0 {
			fmt.Fprintf(w, "%s: no ratio, a tool has no successful save\n", svc)
			continue
		}
		fmt.Fprintf(w, "%s: compose-watch/devd median ratio %.1fx\n", svc, ratio(median(c), median(d)))
	}
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
