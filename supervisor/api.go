package supervisor

import "time"

// RestartResult is the response to a restart request. Field names in JSON are
// part of the contract between devd and the supervisor.
type RestartResult struct {
	// PID is the process id of the new command, in the container's PID
	// namespace.
	PID int `json:"pid"`

	// StopMS is the time from the stop signal until every process of the old
	// group had exited and the ports were free, in milliseconds.
	StopMS int64 `json:"stop_ms"`

	// StartMS is the time the new process took to start (fork and exec).
	StartMS int64 `json:"start_ms"`

	// ReadyMS is the time from the start until the readiness check passed;
	// 0 when no check is configured.
	ReadyMS int64 `json:"ready_ms"`

	// Ready is true when the readiness check passed within the request's
	// timeout, or when no check is configured.
	Ready bool `json:"ready"`

	// Warnings lists the problems that did not stop the restart, such as a
	// port still held by another process.
	Warnings []string `json:"warnings,omitempty"`
}

// StatusResult describes the supervised command.
type StatusResult struct {
	Service string `json:"service"`

	// PID is the current command's process id; 0 when none runs.
	PID int `json:"pid"`

	Running bool `json:"running"`

	// Restarts counts the restarts done on request since the supervisor
	// started.
	Restarts int `json:"restarts"`

	// Started is when the current command started (RFC 3339 in JSON).
	Started time.Time `json:"started"`

	// LastExit is the exit status of the previous command; nil before the
	// first exit.
	LastExit *ExitStatus `json:"last_exit"`

	// Files is true when the supervisor serves the file API (see
	// Client.Extract).
	Files bool `json:"files"`

	// SyncRoots are the container paths the file API serves.
	SyncRoots []string `json:"sync_roots,omitempty"`
}

// ExitStatus is the exit status of a process.
type ExitStatus struct {
	// Code is the exit code, or 128 plus the signal number when a signal
	// ended the process, as a shell reports it.
	Code int `json:"code"`

	// Signal names the signal that ended the process ("SIGKILL"); empty
	// when the process exited by itself.
	Signal string `json:"signal"`
}

// errorResponse is the body of every non-200 response.
type errorResponse struct {
	Error string `json:"error"`
}
