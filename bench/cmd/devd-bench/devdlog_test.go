package main

import "testing"

// Lines as devd up logged them for one save of notification, among others
// that the benchmark does not read.
var notificationSaveLines = []string{
	`{"@level":"debug","@message":"batch","@module":"devd","@timestamp":"2026-12-04T21:15:45.393Z","path_count":2,"waited":51000000}`,
	`{"@level":"debug","@message":"work","@module":"devd","@timestamp":"2026-12-04T21:15:45.393Z","change_count":2,"path_count":2,"restart":true,"service":"notification"}`,
	`{"@level":"info","@message":"synced","@module":"devd.notification","@timestamp":"2026-12-04T21:15:45.543Z","bytes":86,"copied":1,"deleted":1,"duration":150000000,"service":"notification"}`,
	`{"@level":"info","@message":"restarting","@module":"devd.notification","mode":"process","service":"notification"}`,
	`{"@level":"debug","@message":"process restarted","@module":"devd.notification","pid":28,"ready_ms":0,"service":"notification","start_ms":0,"stop_ms":9}`,
	`{"@level":"info","@message":"restarted","@module":"devd.notification","duration":16000000,"service":"notification","since_change":217000000}`,
}

func TestParseDevdTimings(t *testing.T) {
	var kept []string
	for _, line := range notificationSaveLines {
		if devdTimingLine(line) {
			kept = append(kept, line)
		}
	}
	if len(kept) != 4 {
		t.Fatalf("kept %d lines, want the 4 that time a step: %q", len(kept), kept)
	}

	got := parseDevdTimings(kept, "notification")
	want := devdTimings{Batches: 1, WaitedMS: 51, SyncMS: 150, Restarts: 1, RestartMS: 16, StopMS: 9}
	if got == nil || *got != want {
		t.Errorf("timings = %+v, want %+v", got, want)
	}
}

func TestParseDevdTimingsOtherService(t *testing.T) {
	// A batch names no service, so it counts, but another service's sync
	// and restart do not.
	got := parseDevdTimings(notificationSaveLines, "api")
	want := devdTimings{Batches: 1, WaitedMS: 51}
	if got == nil || *got != want {
		t.Errorf("timings = %+v, want %+v", got, want)
	}
}

func TestParseDevdTimingsCountsRepeats(t *testing.T) {
	lines := []string{
		`{"@message":"batch","waited":50000000}`,
		`{"@message":"restarted","duration":500000000,"service":"api"}`,
		`{"@message":"batch","waited":70000000}`,
		`{"@message":"restarted","duration":400000000,"service":"api"}`,
	}
	got := parseDevdTimings(lines, "api")
	// The first batch and the first restart are the save's own.
	want := devdTimings{Batches: 2, WaitedMS: 50, Restarts: 2, RestartMS: 500}
	if got == nil || *got != want {
		t.Errorf("timings = %+v, want %+v", got, want)
	}
}

func TestParseDevdTimingsNothingLogged(t *testing.T) {
	lines := []string{`[nodemon] restarting due to changes...`, `{"@message":"watching"}`}
	if got := parseDevdTimings(lines, "api"); got != nil {
		t.Errorf("timings = %+v, want nil", got)
	}
}
