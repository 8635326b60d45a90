package control

import (
	"context"
	"time"

	"github.com/devdtool/devd/event"
)

// Backend is what the control server needs from the running daemon. The
// daemon implements it; tests use a fake. Implementations must be safe for
// concurrent use.
type Backend interface {
	// Status returns a snapshot of the project's state.
	Status() Status
	// Events returns the bus of devd's events and the services' output.
	Events() *event.Bus
	// Restart restarts a service now, as a file change would.
	Restart(ctx context.Context, service string) error
	// Sync runs a full reconciliation of the service's synced folders.
	Sync(ctx context.Context, service string) error
	// Pause stops applying changes to a service, or to every service when
	// service is "". Changes are kept.
	Pause(service string) error
	// Resume applies the changes kept while paused and goes on.
	Resume(service string) error
}

// Status is the state of a running devd. Field names in JSON are part of
// devd's public API.
type Status struct {
	Project  string          `json:"project"`
	PID      int             `json:"pid"`
	Version  string          `json:"version"`
	Started  time.Time       `json:"started"`
	Engine   string          `json:"engine"`
	Services []ServiceStatus `json:"services"`
	// Process describes devd's own process, for leak checks.
	Process *ProcessStatus `json:"process,omitempty"`
	// Dashboard is the URL of the web dashboard, empty when it is off.
	Dashboard string `json:"dashboard,omitempty"`
}

// ServiceStatus is the state of one service.
type ServiceStatus struct {
	Name         string            `json:"name"`
	Watched      bool              `json:"watched"`
	Paused       bool              `json:"paused"`
	RestartMode  string            `json:"restart_mode"`
	Containers   []ContainerStatus `json:"containers"`
	PendingPaths int               `json:"pending_paths"`
	LastSync     *SyncStatus       `json:"last_sync,omitempty"`
	LastRestart  *RestartStatus    `json:"last_restart,omitempty"`
	RestartCount int               `json:"restart_count"`
	Errors       []string          `json:"errors"`
	Debug        []DebugStatus     `json:"debug"`
}

// ContainerStatus is one container of a service.
type ContainerStatus struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	State string `json:"state"`
}

// SyncStatus describes the last sync of a service.
type SyncStatus struct {
	Time       time.Time `json:"time"`
	Files      int       `json:"files"`
	Bytes      int64     `json:"bytes"`
	DurationMS int64     `json:"duration_ms"`
}

// RestartStatus describes the last restart of a service.
type RestartStatus struct {
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
	// ReadyMS is the time from the save that caused the restart until the
	// service served again, in milliseconds; 0 when unknown.
	ReadyMS int64 `json:"ready_ms"`
}

// DebugStatus is one debug proxy of a service.
type DebugStatus struct {
	Port        int    `json:"port"`
	Address     string `json:"address"`
	Runtime     string `json:"runtime,omitempty"`
	Connections int    `json:"connections"`
	Connected   bool   `json:"connected"`
	// Debuggers counts the open debugger sessions; for the Node inspector
	// these are WebSocket sessions, for other runtimes connections.
	Debuggers int `json:"debuggers"`
	// Paused is true while a debugger holds the program at a breakpoint,
	// as far as devd can see it (Node inspector traffic).
	Paused bool `json:"paused"`
}

// ProcessStatus describes devd's own process.
type ProcessStatus struct {
	// Goroutines is the number of goroutines.
	Goroutines int `json:"goroutines"`
	// OpenFiles is the number of open file descriptors; -1 when unknown.
	OpenFiles int `json:"open_files"`
	// RSSBytes is the resident memory in bytes; 0 when unknown.
	RSSBytes int64 `json:"rss_bytes"`
}
