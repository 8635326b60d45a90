package watch

import "time"

// Clock is the source of time for a Batcher, so that tests can move time by
// hand. Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a started Timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer created by Clock.NewTimer. It follows the
// semantics of *time.Timer since Go 1.23: once Stop or Reset returns, C
// delivers no value from the earlier schedule. A Timer is used by one
// goroutine at a time.
type Timer interface {
	// C returns the channel on which the firing time is delivered.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It returns false if the timer had
	// already fired or been stopped.
	Stop() bool
	// Reset schedules the timer to fire after d. It returns true if the timer
	// was active.
	Reset(d time.Duration) bool
}

// RealClock is the Clock backed by the time package.
var RealClock Clock = realClock{}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }
