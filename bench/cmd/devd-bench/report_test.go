package main

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/devdtool/devd/watch"
)

// testResults returns results with n measured saves per tool and service,
// each tool's latencies scaled from a base.
func testResults(n int, latencyMS map[string]map[string]float64) *results {
	r := &results{Settings: settings{
		Tools:    []string{toolDevdUp, toolDevd, toolComposeWatch, toolNodemon},
		Services: []string{"api", "notification"},
	}}
	for tool, bySvc := range latencyMS {
		for svc, ms := range bySvc {
			for i := range n {
				s := sample{Tool: tool, Service: svc, Index: i, LatencyMS: ms + float64(i)}
				if tool == toolDevdUp || tool == toolDevd {
					s.Devd = &devdTimings{Batches: 1, WaitedMS: 51, RestartMS: 10, Restarts: 1}
					if svc == "notification" {
						s.Devd.SyncMS = 100
					}
				}
				r.Samples = append(r.Samples, s)
			}
		}
	}
	// A warm-up and a failed save count in no figure.
	r.Samples = append(r.Samples,
		sample{Tool: toolDevdUp, Service: "api", Warmup: true, LatencyMS: 5000},
		sample{Tool: toolDevdUp, Service: "api", Error: "timed out"})
	return r
}

func TestPrintTableLeavesOutWhatNodemonCannotServe(t *testing.T) {
	r := testResults(3, map[string]map[string]float64{
		toolDevdUp:  {"api": 100, "notification": 200},
		toolNodemon: {"api": 90},
	})
	var b bytes.Buffer
	printTable(&b, r)
	out := b.String()

	if strings.Contains(out, "nodemon        notification") {
		t.Errorf("table has a nodemon row for notification:\n%s", out)
	}
	// 100, 101, 102 measured, 1 failed; the warm-up is left out.
	if !hasRow(out, "devd-up", "api", "3", "1", "101.0") {
		t.Errorf("table lacks devd-up's api row with 3 saves, 1 failure and a median of 101.0:\n%s", out)
	}
	// compose-watch was asked for but has no sample: its rows show it.
	if !hasRow(out, "compose-watch", "notification", "0", "0", "-") {
		t.Errorf("table lacks an empty compose-watch row:\n%s", out)
	}
}

func TestPrintRatios(t *testing.T) {
	r := testResults(1, map[string]map[string]float64{
		toolDevdUp:       {"api": 100, "notification": 200},
		toolDevd:         {"api": 600, "notification": 800},
		toolComposeWatch: {"api": 1000, "notification": 3200},
		toolNodemon:      {"api": 80},
	})
	var b bytes.Buffer
	printRatios(&b, r)
	out := b.String()

	for _, want := range []string{
		"api: devd/devd-up median ratio 6.00x",
		"api: compose-watch/devd-up median ratio 10.00x",
		"api: nodemon/devd-up median ratio 0.80x",
		"api: compose-watch/devd median ratio 1.67x",
		"notification: compose-watch/devd-up median ratio 16.00x",
		"target: devd-up's median on api at most 1.25x nodemon's: 1.25x (met)",
		"target: compose-watch's median on notification at least 15x devd-up's: 16.00x (met)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("ratios lack %q:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"devd-up/devd", "nodemon/devd-up median ratio 0.00x", "notification: nodemon"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("ratios contain %q:\n%s", unwanted, out)
		}
	}
}

func TestDevdSteps(t *testing.T) {
	r := testResults(3, map[string]map[string]float64{
		toolDevdUp:       {"notification": 200},
		toolComposeWatch: {"notification": 1000},
	})

	st, ok := r.devdSteps(toolDevdUp, "notification")
	if !ok {
		t.Fatal("devdSteps found nothing for devd-up")
	}
	want := stepSummary{
		N:         3,
		Latency:   201 * time.Millisecond,
		Waited:    51 * time.Millisecond,
		WaitedP90: 51 * time.Millisecond,
		Sync:      100 * time.Millisecond,
		Restart:   10 * time.Millisecond,
		Rest:      40 * time.Millisecond, // 201 - 51 - 100 - 10
	}
	if st != want {
		t.Errorf("steps = %+v, want %+v", st, want)
	}
	if _, ok := r.devdSteps(toolComposeWatch, "notification"); ok {
		t.Error("devdSteps found steps for compose-watch, which logs none")
	}

	var b bytes.Buffer
	printDevdSteps(&b, r)
	// The estimates move the median by the difference between each quiet
	// period and devd's default.
	estimate := func(quiet time.Duration) string {
		return fmt.Sprintf("%.1f", float64(201*time.Millisecond-watch.DefaultQuiet+quiet)/float64(time.Millisecond))
	}
	if !hasRow(b.String(), "devd-up", "notification", estimate(10*time.Millisecond), estimate(25*time.Millisecond),
		estimate(50*time.Millisecond), estimate(100*time.Millisecond)) {
		t.Errorf("estimates lack devd-up's notification row:\n%s", b.String())
	}
}

// hasRow reports whether a line of out starts with the fields given.
func hasRow(out string, fields ...string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= len(fields) && slices.Equal(f[:len(fields)], fields) {
			return true
		}
	}
	return false
}
