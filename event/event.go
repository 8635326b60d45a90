// Package event is devd's stream of what it does, for people and tools:
// syncs, restarts, builds, debugger sessions and errors. Log lines are for
// diagnosis; this stream is what status, `devd events` and the dashboard
// show.
package event

import (
	"sync"
	"time"
)

// Type names a kind of event. The values are part of devd's public API
// (`devd events` prints them) and never change meaning.
type Type string

// Event types.
const (
	// Started: devd started supervising the project.
	Started Type = "started"
	// Watching: devd watches a folder for a service; Reason says what a
	// change does.
	Watching Type = "watching"
	// DebugListening: a debug proxy listens at Address for a service.
	DebugListening Type = "debug_listening"
	// ConfigReloaded: a Compose or env file changed and the rules were reloaded.
	ConfigReloaded Type = "config_reloaded"
	// ConfigInvalid: a changed configuration is invalid; the old rules stay.
	ConfigInvalid Type = "config_invalid"
	// ContainerWaiting: a service has changes but no running container.
	ContainerWaiting Type = "container_waiting"
	// SyncStarted and SyncDone bracket copying a batch into one container.
	SyncStarted Type = "sync_started"
	SyncDone    Type = "sync_done"
	// SyncProgress: how far a reconciliation of a container with the host
	// has come: Phase, Files of TotalFiles, Bytes of TotalBytes, and the
	// time since it began in DurationMS. It comes after the first second,
	// a few times a second at most, and once with Phase "done" at the end
	// of a reconciliation that had anything to do or was reported before.
	SyncProgress Type = "sync_progress"
	// SyncFailed: a batch could not be applied to a container; it is retried.
	SyncFailed Type = "sync_failed"
	// RestartStarted: a service restart began.
	RestartStarted Type = "restart_started"
	// RestartReady: the restarted service serves again.
	RestartReady Type = "restart_ready"
	// RestartFailed: a restart failed.
	RestartFailed Type = "restart_failed"
	// BuildStarted, BuildDone and BuildFailed bracket a host-side build.
	BuildStarted Type = "build_started"
	BuildDone    Type = "build_done"
	BuildFailed  Type = "build_failed"
	// ExecDone and ExecFailed follow the command of a sync+exec trigger in
	// one container; Error holds the exit code and output of a failure.
	ExecDone   Type = "exec_done"
	ExecFailed Type = "exec_failed"
	// ServiceExited: the service's process exited on its own.
	ServiceExited Type = "service_exited"
	// DebuggerAttached and DebuggerDetached follow connections through a
	// debug proxy.
	DebuggerAttached Type = "debugger_attached"
	DebuggerDetached Type = "debugger_detached"
	// Paused and Resumed follow `devd pause` and `devd resume`.
	Paused  Type = "paused"
	Resumed Type = "resumed"
	// LoopStopped: a path that restarted its own service in a loop no
	// longer restarts it.
	LoopStopped Type = "loop_stopped"
	// Output is a line the service's container wrote to stdout or stderr.
	// `devd events` leaves these out unless asked.
	Output Type = "output"
	// EngineLost and EngineBack follow the Docker engine's availability.
	EngineLost Type = "engine_lost"
	EngineBack Type = "engine_back"
)

// Event is one thing devd did or saw. Fields that do not apply are empty
// and left out of JSON.
type Event struct {
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Type is the kind of event.
	Type Type `json:"type"`
	// Service is the Compose service, empty for project-wide events.
	Service string `json:"service,omitempty"`
	// Container is the container name.
	Container string `json:"container,omitempty"`
	// Reason is the cause, in words ("src/routes.js changed").
	Reason string `json:"reason,omitempty"`
	// Paths lists up to a few changed paths, relative to the project folder.
	Paths []string `json:"paths,omitempty"`
	// Files counts the files copied or deleted by a sync; for SyncProgress,
	// those handled so far.
	Files int `json:"files,omitempty"`
	// Bytes counts the bytes copied by a sync; for SyncProgress, those sent
	// so far.
	Bytes int64 `json:"bytes,omitempty"`
	// TotalFiles and TotalBytes are what a reconciliation has to copy and
	// delete, for SyncProgress once they are known.
	TotalFiles int   `json:"total_files,omitempty"`
	TotalBytes int64 `json:"total_bytes,omitempty"`
	// Phase is the step of a reconciliation, for SyncProgress: "comparing",
	// "copying", "deleting" or "done".
	Phase string `json:"phase,omitempty"`
	// DurationMS is the time the step took, in milliseconds; for
	// RestartReady it is the time from the triggering save to ready; for
	// SyncProgress, the time since the reconciliation began.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Error is the error message of a failure.
	Error string `json:"error,omitempty"`
	// Address is a debug proxy's host address.
	Address string `json:"address,omitempty"`
	// Stream is "stdout" or "stderr" for Output.
	Stream string `json:"stream,omitempty"`
	// Text is the line of an Output event, without its line break.
	Text string `json:"text,omitempty"`
}

// Bus fans events out to subscribers and keeps the most recent ones, so a
// new subscriber can start with the history. It is safe for concurrent
// use. Publish never blocks: a subscriber that falls behind by more than
// its buffer loses events and is told so by Dropped.
type Bus struct {
	mu      sync.Mutex
	history []Event                // guarded by mu; oldest first, at most size
	size    int                    // capacity of history
	subs    map[*Subscription]bool // guarded by mu
}

// NewBus returns a bus that keeps the last size events.
func NewBus(size int) *Bus {
	return &Bus{size: size, subs: make(map[*Subscription]bool)}
}

// Publish stamps the event with the current time when it has none and
// delivers it.
func (b *Bus) Publish(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	b.mu.Lock()
	defer b.mu.Unlock()

	if b.size > 0 {
		if len(b.history) == b.size {
			copy(b.history, b.history[1:])
			b.history = b.history[:b.size-1]
		}
		b.history = append(b.history, e)
	}
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			s.mu.Lock()
			s.dropped++
			s.mu.Unlock()
		}
	}
}

// History returns a copy of the kept events, oldest first.
func (b *Bus) History() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.history...)
}

// Subscribe returns a subscription with a buffer of the given size. The
// caller must Close it.
func (b *Bus) Subscribe(buffer int) *Subscription {
	s := &Subscription{bus: b, ch: make(chan Event, buffer)}
	b.mu.Lock()
	b.subs[s] = true
	b.mu.Unlock()
	return s
}

// Subscription receives events published after it was made.
type Subscription struct {
	bus *Bus
	ch  chan Event // closed by Close

	mu      sync.Mutex
	dropped int  // guarded by mu
	closed  bool // guarded by mu
}

// C returns the channel of events; it is closed by Close.
func (s *Subscription) C() <-chan Event { return s.ch }

// Dropped returns how many events were lost because the buffer was full.
func (s *Subscription) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close ends the subscription and closes its channel. It is safe to call
// more than once.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	delete(s.bus.subs, s)
	s.bus.mu.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
}
