// Package controltest provides a fake control.Backend for tests of the
// control API, its commands and its users.
package controltest

import (
	"context"
	"fmt"
	"sync"

	"github.com/devdtool/devd/control"
	"github.com/devdtool/devd/event"
)

// historySize is how many events the fake's bus keeps.
const historySize = 256

// Call is one call of an action method of the fake backend.
type Call struct {
	// Method is "Restart", "Sync", "Pause" or "Resume".
	Method string
	// Service is the service argument; "" for every service.
	Service string
}

// Backend is a control.Backend that records calls. Its methods are safe
// for concurrent use. Pause and Resume update the Paused fields of the
// status and publish Paused and Resumed events, like the daemon.
type Backend struct {
	bus   *event.Bus
	calls chan Call

	mu     sync.Mutex
	status control.Status // guarded by mu
	err    error          // guarded by mu; returned by the action methods
	log    []Call         // guarded by mu; every action call, oldest first
}

var _ control.Backend = (*Backend)(nil)

// New returns a fake backend with the given status.
func New(status control.Status) *Backend {
	return &Backend{bus: event.NewBus(historySize), calls: make(chan Call, 64), status: status}
}

// Status returns the status given to New, as changed by SetStatus, Pause
// and Resume.
func (b *Backend) Status() control.Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.status
	st.Services = append([]control.ServiceStatus(nil), b.status.Services...)
	return st
}

// SetStatus replaces the status.
func (b *Backend) SetStatus(st control.Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.status = st
}

// FailWith makes the action methods return err; nil makes them succeed.
func (b *Backend) FailWith(err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.err = err
}

// Events returns the fake's bus.
func (b *Backend) Events() *event.Bus { return b.bus }

// Calls returns the channel that receives each action call while it has
// room; CallLog has them all.
func (b *Backend) Calls() <-chan Call { return b.calls }

// CallLog returns every action call so far, oldest first.
func (b *Backend) CallLog() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Call(nil), b.log...)
}

// Restart records the call.
func (b *Backend) Restart(ctx context.Context, service string) error {
	return b.record("Restart", service)
}

// Sync records the call.
func (b *Backend) Sync(ctx context.Context, service string) error {
	return b.record("Sync", service)
}

// Pause records the call and marks the service, or every service, paused.
func (b *Backend) Pause(service string) error {
	if err := b.record("Pause", service); err != nil {
		return err
	}
	b.setPaused(service, true)
	b.bus.Publish(event.Event{Type: event.Paused, Service: service})
	return nil
}

// Resume records the call and marks the service, or every service, not
// paused.
func (b *Backend) Resume(service string) error {
	if err := b.record("Resume", service); err != nil {
		return err
	}
	b.setPaused(service, false)
	b.bus.Publish(event.Event{Type: event.Resumed, Service: service})
	return nil
}

func (b *Backend) record(method, service string) error {
	b.mu.Lock()
	err := b.err
	known := service == ""
	for _, s := range b.status.Services {
		known = known || s.Name == service
	}
	b.mu.Unlock()

	if !known {
		return fmt.Errorf("%w %q", control.ErrUnknownService, service)
	}
	call := Call{Method: method, Service: service}
	b.mu.Lock()
	b.log = append(b.log, call)
	b.mu.Unlock()
	select {
	case b.calls <- call:
	default:
		// Calls is full: the call is still in CallLog.
	}
	return err
}

func (b *Backend) setPaused(service string, paused bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	services := append([]control.ServiceStatus(nil), b.status.Services...)
	for i := range services {
		if service == "" || services[i].Name == service {
			services[i].Paused = paused
		}
	}
	b.status.Services = services
}
