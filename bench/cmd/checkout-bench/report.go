package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"
)

// toolTitle maps a tool to its name in the report.
var toolTitle = map[string]string{
	toolDevd:         "devd",
	toolComposeWatch: "compose watch",
	toolDevdUp:       "devd up",
}

// summary holds the statistics of one tool's samples.
type summary struct {
	n, failed                     int
	converged, served, checkout   []time.Duration
	convergedMedian, servedMedian time.Duration
	convergedMin, convergedMax    time.Duration
}

func summarize(samples []sample) summary {
	var s summary
	for _, smp := range samples {
		if smp.failed != "" {
			s.failed++
			continue
		}
		s.n++
		s.converged = append(s.converged, smp.converged)
		s.served = append(s.served, smp.served)
		s.checkout = append(s.checkout, smp.checkout)
	}
	s.convergedMedian = median(s.converged)
	s.servedMedian = median(s.served)
	if len(s.converged) > 0 {
		sorted := sortedCopy(s.converged)
		s.convergedMin, s.convergedMax = sorted[0], sorted[len(sorted)-1]
	}
	return s
}

// median returns the median, the mean of the two middle values for an even
// count, or 0 for none.
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := sortedCopy(ds)
	mid := len(s) / 2
	if len(s)%2 == 1 {
		return s[mid]
	}
	return (s[mid-1] + s[mid]) / 2
}

func sortedCopy(ds []time.Duration) []time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond))
}

// printReport writes the machine, every sample and a Markdown table of the
// medians, with the ratio of Compose watch to devd when both ran.
func printReport(w io.Writer, m machine, o options, results map[string][]sample) {
	fmt.Fprintf(w, "\nmachine: %d CPUs, load average %s before and %s after, kernel %s, engine %s, compose %s, devd at %s\n",
		m.cpus, m.loadBefore, m.loadAfter, m.kernel, m.engine, m.compose, m.commit)
	fmt.Fprintf(w, "checkout: %d files (half changed, half added) in %d folders of notification, %d rounds back and forth, files read %s every %s, one read of them takes %s\n\n",
		o.files, o.folders, o.rounds, m.readHow, o.poll, m.digestRead.Round(time.Millisecond))

	for _, tool := range o.tools {
		for i, smp := range results[tool] {
			status := fmt.Sprintf("git %s ms, files equal %s ms, new message %s ms", ms(smp.checkout), ms(smp.converged), ms(smp.served))
			if smp.failed != "" {
				status = "failed: " + smp.failed
			}
			fmt.Fprintf(w, "%-13s #%d to %-4s %s\n", toolTitle[tool], i+1, smp.branch, status)
		}
	}

	fmt.Fprintln(w)
	fmt.Fprintln(w, "| tool | checkouts | failed | files equal, median | min | max | new message, median | git checkout, median |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	sums := make(map[string]summary)
	for _, tool := range o.tools {
		s := summarize(results[tool])
		sums[tool] = s
		fmt.Fprintf(w, "| %s | %d | %d | %s | %s | %s | %s | %s |\n", toolTitle[tool], s.n, s.failed,
			ms(s.convergedMedian), ms(s.convergedMin), ms(s.convergedMax), ms(s.servedMedian), ms(median(s.checkout)))
	}

	c, okC := sums[toolComposeWatch]
	for _, tool := range []string{toolDevd, toolDevdUp} {
		d, okD := sums[tool]
		if okD && okC && d.convergedMedian > 0 && d.servedMedian > 0 {
			fmt.Fprintf(w, "\nCompose watch / %s, medians: files equal %.1fx (%s / %s ms), new message %.1fx (%s / %s ms)\n",
				toolTitle[tool],
				float64(c.convergedMedian)/float64(d.convergedMedian), ms(c.convergedMedian), ms(d.convergedMedian),
				float64(c.servedMedian)/float64(d.servedMedian), ms(c.servedMedian), ms(d.servedMedian))
		}
	}
	fmt.Fprintln(w, "\nTimes in milliseconds from the start of git checkout.", strings.TrimSpace(`
A file time is seen up to one poll interval plus one digest read late.`))
}
