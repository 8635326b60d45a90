package main

import (
	"encoding/json"
	"slices"
)

// devdTimings are the durations devd logged for the steps of one save. A
// save's latency minus these steps is time that devd does not measure: the
// file event's delivery, the new process's start until it serves, and the
// benchmark's polling.
type devdTimings struct {
	// Batches counts the change batches devd flushed during the save; 1
	// when the save's events all fell into one batch.
	Batches int `json:"batches"`
	// WaitedMS is the time from the first change of the first batch until
	// devd handled the batch: the quiet period plus the batcher's and the
	// scheduler's delays. devd rounds it to the millisecond.
	WaitedMS float64 `json:"waited_ms"`
	// SyncMS is the time devd took to copy the changes into the container;
	// 0 when nothing was copied, as for a bind mount.
	SyncMS float64 `json:"sync_ms,omitempty"`
	// Restarts counts the restarts devd logged for the service.
	Restarts int `json:"restarts"`
	// RestartMS is how long the first restart took as devd logged it: a
	// container restart through the Engine API, or a process restart
	// through the supervisor, which ends once the new process is started.
	RestartMS float64 `json:"restart_ms"`
	// StopMS is the part of a process restart spent stopping the old
	// process and waiting for its ports to be free; 0 for a container
	// restart.
	StopMS float64 `json:"stop_ms,omitempty"`
}

// devdEntry is the part of a devd JSON log entry that the benchmark reads.
// hclog writes time.Duration values as integer nanoseconds.
type devdEntry struct {
	Message  string  `json:"@message"`
	Service  string  `json:"service"`
	Waited   float64 `json:"waited"`   // "batch": nanoseconds
	Duration float64 `json:"duration"` // "synced", "restarted": nanoseconds
	StopMS   float64 `json:"stop_ms"`  // "process restarted"
}

// devdTimingMessages are the messages of the log entries that time the
// steps of a save.
var devdTimingMessages = []string{"batch", "synced", "restarted", "process restarted"}

// devdTimingLine reports whether a line of devd's output is a JSON log
// entry that times a step of a save.
func devdTimingLine(line string) bool {
	var e devdEntry
	return json.Unmarshal([]byte(line), &e) == nil && slices.Contains(devdTimingMessages, e.Message)
}

// parseDevdTimings reads the timing entries that devd logged during a save
// of svc. It returns nil when there is none.
func parseDevdTimings(lines []string, svc string) *devdTimings {
	var t devdTimings
	found, stopped := false, false
	for _, line := range lines {
		var e devdEntry
		if json.Unmarshal([]byte(line), &e) != nil {
			continue
		}
		switch {
		case e.Message == "batch":
			// Batches name no service; the benchmark edits one at a time.
			if t.Batches == 0 {
				t.WaitedMS = e.Waited / 1e6
			}
			t.Batches++
		case e.Service != svc:
			continue
		case e.Message == "synced":
			t.SyncMS += e.Duration / 1e6
		case e.Message == "restarted":
			if t.Restarts == 0 {
				t.RestartMS = e.Duration / 1e6
			}
			t.Restarts++
		case e.Message == "process restarted":
			if !stopped {
				t.StopMS, stopped = e.StopMS, true
			}
		default:
			continue
		}
		found = true
	}
	if !found {
		return nil
	}
	return &t
}
